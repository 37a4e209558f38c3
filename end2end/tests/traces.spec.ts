import * as fs from "node:fs";
import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";

// Runs against `sightline serve` started by `cargo leptos end-to-end` with SIGHTLINE_DEMO=true:
// the server feeds itself the MangaAssist chatbot workload over OTLP (30-minute backfill, then
// live traffic), into a fresh SQLite under target/e2e-data.

const SCREENSHOT = path.join(__dirname, "..", "screenshots", "traces.png");

/** One `tr.trace-row`, read in a single evaluate so a 3 s refresh cannot tear it. */
type Row = {
  id: string;
  start: string;
  name: string;
  duration: string;
  status: string;
  model: string;
  tokens: string;
  cost: string;
  spans: string;
  preview: string;
};

async function readRows(page: Page): Promise<Row[]> {
  return page.locator("#trace-table tr.trace-row").evaluateAll((trs) =>
    trs.map((tr) => {
      const td = Array.from(tr.querySelectorAll("td")).map((c) => (c.textContent ?? "").trim());
      return {
        id: tr.getAttribute("data-trace-id") ?? "",
        start: td[0] ?? "",
        name: (tr.querySelector("td.name")?.textContent ?? "").trim(),
        duration: td[2] ?? "",
        status: (tr.querySelector("span.badge")?.textContent ?? "").trim(),
        model: (tr.querySelector("td.model")?.textContent ?? "").trim(),
        tokens: td[5] ?? "",
        cost: td[6] ?? "",
        spans: td[7] ?? "",
        preview: td[8] ?? "",
      };
    }),
  );
}

/** Collects uncaught page errors and console errors for the whole test. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location().url;
    // Every failed load (stylesheet, wasm, server function) counts; the shell declares an
    // empty icon, so not even a favicon request may fail.
    errors.push(`console.error: ${m.text()} (${url})`);
  });
  return errors;
}

async function openHydrated(page: Page, url = "/traces") {
  await page.goto(url);
  await expect(page.locator("#traces-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
}

/** Waits until the demo's traces are listed (the backfill starts as the server comes up). */
async function waitForRows(page: Page, timeout = 30_000): Promise<Row[]> {
  let rows: Row[] = [];
  await expect
    .poll(
      async () => {
        rows = await readRows(page);
        return rows.length;
      },
      { timeout, message: "the demo's traces should appear in #trace-table" },
    )
    .toBeGreaterThan(0);
  return rows;
}

test("the traces page renders on the server and hydrates without errors", async ({ page }) => {
  const errors = watchErrors(page);
  const response = await page.goto("/traces");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle("Sightline");
  await expect(page.locator("#traces-page h1")).toHaveText("Traces");
  await expect(page.locator("#refresh")).toBeVisible();
  await expect(page.locator("#traces-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  // The SSR'd body is either the table or the empty-state message, never an error.
  await expect(page.locator("#trace-table, #no-traces").first()).toBeVisible();
  await expect(page.locator("#traces-page p.error")).toHaveCount(0);

  // Once hydrated, the page refreshes itself through the list_traces server function;
  // wait for one such round trip so errors from the client-side fetch are caught too.
  const refreshed = await page.waitForResponse((r) => /\/list_traces/.test(r.url()), {
    timeout: 10_000,
  });
  expect(refreshed.status()).toBe(200);
  await expect(page.locator("#traces-page p.error")).toHaveCount(0);

  // `/` is the overview board now; its nav keeps a link to this list.
  await page.goto("/");
  await page.locator("header nav a", { hasText: "Traces" }).click();
  await expect(page).toHaveURL(/\/traces$/);
  await expect(page.locator("#traces-page h1")).toHaveText("Traces");

  expect(errors).toEqual([]);
});

test("traces sent by the demo appear with name, model, tokens and cost", async ({ page }) => {
  const errors = watchErrors(page);
  // Only the demo's service: other specs post traces of their own (trace.spec.ts).
  await openHydrated(page, `/traces?filter=${encodeURIComponent("service = 'mangaassist-chatbot'")}`);

  let rows: Row[] = [];
  await expect
    .poll(
      async () => {
        rows = await readRows(page);
        return rows.some((r) => /^claude-/.test(r.model));
      },
      { timeout: 30_000, message: "a trace answered by a claude model should be listed" },
    )
    .toBe(true);
  await expect(page.locator("#no-traces")).toHaveCount(0);

  for (const r of rows) {
    expect(r.id, "data-trace-id is 32 hex digits").toMatch(/^[0-9a-f]{32}$/);
    expect(r.start).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(r.status).toMatch(/^(OK|ERROR|IN PROGRESS)$/);
  }
  expect(new Set(rows.map((r) => r.id)).size, "trace ids are unique").toBe(rows.length);
  // Newest first.
  const starts = rows.map((r) => r.start);
  expect(starts).toEqual([...starts].sort().reverse());

  // Every demo trace is a chat_request root.
  expect(rows[0].name).toBe("chat_request");
  expect(rows.filter((r) => r.name === "chat_request").length).toBeGreaterThan(rows.length / 2);

  const llm = rows.find((r) => /^claude-/.test(r.model))!;
  expect(llm.name).toBe("chat_request");
  // The chat model comes first; embedding and reranking models are counted as "+N".
  expect(llm.model).toMatch(/^(claude-sonnet|claude-haiku|vllm-lora)( \+\d+)?$/);
  expect(llm.duration).toMatch(/^\d+(\.\d+)? (ms|s|min)$/);
  // `1.2k / 350`: both counts present and the model was actually called.
  const tokens = llm.tokens.match(/^(\d+(?:\.\d)?[kM]?) \/ (\d+(?:\.\d)?[kM]?)$/);
  expect(tokens, `tokens cell "${llm.tokens}"`).not.toBeNull();
  expect(tokens![1]).not.toBe("0");
  expect(tokens![2]).not.toBe("0");
  // Priced from the built-in model price table: `$0.0042` or `$0.01`.
  expect(llm.cost).toMatch(/^\$0\.\d{2,4}$/);
  expect(llm.cost).not.toBe("$0");
  expect(Number(llm.spans)).toBeGreaterThan(1);
  expect(llm.preview.length, "request preview shows the user's message").toBeGreaterThan(0);

  // The cells are really the ones the selectors in the brief name.
  const row = page.locator(`tr.trace-row[data-trace-id="${llm.id}"]`);
  if ((await row.count()) > 0) {
    await expect(row.locator("td.name")).toHaveText("chat_request");
    await expect(row.locator("td.model")).toContainText("claude-");
    await expect(row.locator("span.badge")).toHaveText(/^(OK|ERROR|IN PROGRESS)$/);
  }

  expect(errors).toEqual([]);
});

test("new traces appear at the top without a reload", async ({ page }) => {
  const errors = watchErrors(page);
  await openHydrated(page);
  const before = await waitForRows(page);
  const first = before[0];
  const seen = new Set(before.map((r) => r.id));

  // A marker that a navigation or reload would wipe out.
  await page.evaluate(() => ((window as any).__sightlineNoReload = true));
  let navigations = 0;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  // The page refetches every 3 s; the demo sends 20 traces/s.
  let top = first;
  await expect
    .poll(
      async () => {
        const rows = await readRows(page);
        top = rows[0] ?? top;
        return top.id;
      },
      { timeout: 20_000, intervals: [500], message: "a newer trace should take the top row" },
    )
    .not.toBe(first.id);

  expect(seen.has(top.id), "the new top row is a trace that was not listed before").toBe(false);
  expect(top.start >= first.start, `new top ${top.start} is not older than ${first.start}`).toBe(
    true,
  );
  expect(top.name).toBe("chat_request");
  expect(await page.evaluate(() => (window as any).__sightlineNoReload)).toBe(true);
  expect(navigations).toBe(0);

  // The Refresh button also refetches on demand.
  const refetch = page.waitForResponse((r) => /\/list_traces/.test(r.url()));
  await page.locator("#refresh").click();
  expect((await refetch).status()).toBe(200);
  expect(await page.evaluate(() => (window as any).__sightlineNoReload)).toBe(true);

  expect(errors).toEqual([]);
});

test("full-page screenshot of the traces page", async ({ page }) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 1440, height: 900 });
  await openHydrated(page);
  await waitForRows(page);
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  expect(errors).toEqual([]);
});

// ---- Trace search: the filter bar, time range, order and pages live in the URL. ----

const FILTER = "status = 'OK' AND tags.intent = 'recommendation'";
const FILTERED_SCREENSHOT = path.join(__dirname, "..", "screenshots", "traces-filtered.png");

/** `842 ms`, `1.24 s`, `2.0 min` → ms. */
function parseDuration(text: string): number {
  const m = text.match(/^([\d.]+) (ms|s|min)$/);
  if (!m) return NaN;
  return Number(m[1]) * ({ ms: 1, s: 1000, min: 60_000 } as Record<string, number>)[m[2]];
}

/** The `list_traces` calls the page makes, with their form-encoded bodies decoded. */
function watchListCalls(page: Page): string[] {
  const bodies: string[] = [];
  page.on("request", (r) => {
    if (/\/list_traces/.test(r.url())) {
      bodies.push(decodeURIComponent((r.postData() ?? "").replace(/\+/g, " ")));
    }
  });
  return bodies;
}

test("an invalid filter shows its error with a column and is not sent", async ({ page }) => {
  const errors = watchErrors(page);
  await openHydrated(page);
  await waitForRows(page);
  const calls = watchListCalls(page);

  await page.locator("#filter").fill("status = 'OK' AND");
  const error = page.locator("#filter-error");
  await expect(error).toBeVisible();
  await expect(error).toHaveText(/^at column \d+: .+/);
  await expect(page.locator("#filter")).toHaveAttribute("aria-invalid", "true");

  await page.locator("#filter").fill("span.nope = 1");
  await expect(error).toHaveText(/^at column 1: .*span\.nope/);

  // Enter does not apply it either; the URL keeps the last valid view.
  await page.locator("#filter").press("Enter");
  await page.waitForTimeout(1_000);
  expect(new URL(page.url()).searchParams.get("filter")).toBeNull();
  expect(calls.filter((b) => /nope|status = 'OK' AND/.test(b))).toEqual([]);
  // The list is still there (the refresh keeps running on the valid view).
  await expect(page.locator("#trace-table")).toBeVisible();

  // Fixing it clears the error.
  await page.locator("#filter").fill("status = 'OK'");
  await expect(error).toHaveCount(0);
  await expect(page.locator("#filter")).toHaveAttribute("aria-invalid", "false");
  expect(errors).toEqual([]);
});

test("a valid filter updates the URL and the rows; reloading reproduces the view", async ({
  page,
}) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 1440, height: 900 });
  await openHydrated(page);
  await waitForRows(page);
  const calls = watchListCalls(page);

  await page.locator("#filter").fill(FILTER);
  await page.locator("#filter").press("Enter");
  await expect
    .poll(() => new URL(page.url()).searchParams.get("filter"), { timeout: 10_000 })
    .toBe(FILTER);
  await expect.poll(() => calls.some((b) => b.includes("tags.intent = 'recommendation'"))).toBe(
    true,
  );
  await expect(page.locator("#filter-error")).toHaveCount(0);

  // Every row now is an OK trace (the intent is checked by server/tests/search.rs).
  let rows: Row[] = [];
  await expect
    .poll(
      async () => {
        rows = await readRows(page);
        return rows.length > 0 && rows.every((r) => r.status === "OK");
      },
      { timeout: 15_000, message: "the filtered rows should all be OK" },
    )
    .toBe(true);

  // Slowest first: the sort menu goes into the URL too.
  await page.locator("#sort").selectOption("duration_desc");
  await expect.poll(() => new URL(page.url()).searchParams.get("sort")).toBe("duration_desc");
  await page.locator("#range").selectOption("1h");
  await expect.poll(() => new URL(page.url()).searchParams.get("range")).toBe("1h");
  await expect
    .poll(
      async () => {
        rows = await readRows(page);
        const d = rows.map((r) => parseDuration(r.duration));
        return (
          rows.length > 1 &&
          rows.every((r) => r.status === "OK") &&
          d.every((x, i) => !Number.isNaN(x) && (i === 0 || d[i - 1] >= x))
        );
      },
      { timeout: 15_000, message: "rows should be OK and slowest first" },
    )
    .toBe(true);
  expect(new URL(page.url()).searchParams.get("filter")).toBe(FILTER);

  fs.mkdirSync(path.dirname(FILTERED_SCREENSHOT), { recursive: true });
  await page.screenshot({ path: FILTERED_SCREENSHOT, fullPage: true });

  // The URL alone reproduces the view: SSR renders it, hydration keeps it.
  const url = page.url();
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  await expect(page.locator("#traces-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#filter")).toHaveValue(FILTER);
  await expect(page.locator("#sort")).toHaveValue("duration_desc");
  await expect(page.locator("#range")).toHaveValue("1h");
  const again = await waitForRows(page);
  expect(again.every((r) => r.status === "OK")).toBe(true);
  const d = again.map((r) => parseDuration(r.duration));
  expect(d.every((x, i) => i === 0 || d[i - 1] >= x)).toBe(true);
  expect(errors).toEqual([]);
});

test("next page continues the list without repeating a trace", async ({ page }) => {
  const errors = watchErrors(page);
  // Oldest first over all time: the first pages do not move while the demo keeps sending.
  await openHydrated(page, "/traces?sort=start_asc");
  const first = await waitForRows(page);
  expect(first.length).toBe(50);
  const next = page.locator("#next-page");
  await expect(next).toBeVisible();
  await next.click();
  await expect.poll(() => new URL(page.url()).searchParams.get("cursor")).not.toBeNull();
  expect(new URL(page.url()).searchParams.get("sort")).toBe("start_asc");
  let second: Row[] = [];
  await expect
    .poll(
      async () => {
        second = await readRows(page);
        return second.length > 0 && second[0].id !== first[0].id;
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  const seen = new Set(first.map((r) => r.id));
  expect(second.filter((r) => seen.has(r.id))).toEqual([]);
  expect(second[0].start >= first[first.length - 1].start).toBe(true);
  await expect(page.locator("#first-page")).toBeVisible();

  // A later page does not refresh itself (rows would shift under the reader).
  const calls = watchListCalls(page);
  await page.waitForTimeout(4_000);
  expect(calls).toEqual([]);
  expect(errors).toEqual([]);
});
