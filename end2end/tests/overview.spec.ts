import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";

// Runs against `sightline serve` with SIGHTLINE_DEMO=true: the demo backfills 30 minutes of
// the MangaAssist chatbot and keeps sending, so the default window (last hour) has data in
// every panel. The charts are SVG drawn on the server (app/src/charts).

const SHOTS = path.join(__dirname, "..", "screenshots");
const CHART_PANELS = [
  "panel-latency",
  "panel-heatmap",
  "panel-traces",
  "panel-errors",
  "panel-cache",
  "panel-guardrails",
];

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  return errors;
}

async function openHydrated(page: Page, url = "/") {
  const response = await page.goto(url);
  await expect(page.locator("#overview-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  return response;
}

/** Traces in the board's window, as the server counted them. */
async function traceCount(page: Page): Promise<number> {
  return Number(await page.locator("#tiles").getAttribute("data-traces"));
}

/** Opens `url` until the board counts traces (the demo's backfill may still be arriving). */
async function openWithData(page: Page, url = "/") {
  await openHydrated(page, url);
  await expect
    .poll(
      async () => {
        if ((await page.locator("#tiles").count()) > 0 && (await traceCount(page)) > 0) {
          return true;
        }
        await openHydrated(page, url);
        return false;
      },
      { timeout: 45_000, intervals: [1_000, 2_000, 3_000], message: "the board should count the demo's traces" },
    )
    .toBe(true);
}

test("with demo data every panel of the overview is populated", async ({ page }) => {
  const errors = watchErrors(page);
  await openWithData(page);
  await expect(page.locator("#overview-page h1")).toHaveText("Overview");
  await expect(page.locator("header nav a").first()).toHaveText("Overview");
  await expect(page.locator("#overview-error")).toHaveCount(0);
  await expect(page.locator("#board-window")).toContainText("UTC");

  // Every chart is an SVG with drawn content, axis titles naming units and UTC.
  for (const id of CHART_PANELS) {
    const svg = page.locator(`#${id} svg.chart`);
    await expect(svg, id).toHaveCount(1);
    await expect(page.locator(`#${id} .panel-empty`), id).toHaveCount(0);
    expect(await svg.getAttribute("width"), id).toBe("100%");
    await expect(svg.locator("text", { hasText: "Time (UTC)" }), id).toHaveCount(1);
  }
  // P50, P95 and P99: the 2 px lines (axis ticks are 1 px, legend keys 3 px), one colour
  // each; a minute without traffic splits a line in two.
  const lineColours = await page
    .locator('#panel-latency svg polyline[stroke-width="2"]')
    .evaluateAll((ls) => [...new Set(ls.map((l) => l.getAttribute("stroke")))].sort());
  expect(lineColours).toEqual(["#3B5BDB", "#C92A2A", "#E67700"]);
  await expect(page.locator("#panel-latency svg text", { hasText: /Trace latency \((ms|s)\)/ })).toHaveCount(1);
  expect(await page.locator("#panel-heatmap svg rect").count()).toBeGreaterThan(10);
  await expect(page.locator("#panel-heatmap svg text", { hasText: "Traces" })).toHaveCount(1);

  // Tiles carry figures, not placeholders.
  for (const id of ["tile-p50", "tile-p95", "tile-p99"]) {
    await expect(page.locator(`[data-testid=${id}] .tile-value`), id).toHaveText(/^\d+(\.\d+)? (ms|s)$/);
  }
  for (const id of ["tile-errors", "tile-cache", "tile-blocks"]) {
    await expect(page.locator(`[data-testid=${id}] .tile-value`), id).toHaveText(/^\d+\.\d+%$/);
  }
  await expect(page.locator("[data-testid=tile-cost-request] .tile-value")).toHaveText(/^\$\d/);

  // The breakdown: bottleneck first, highlighted, with a share bar.
  const breakdown = page.locator("#breakdown tbody tr");
  expect(await breakdown.count()).toBeGreaterThan(3);
  await expect(breakdown.first()).toHaveClass(/bottleneck/);
  await expect(page.locator("#breakdown tr.bottleneck")).toHaveCount(1);
  await expect(breakdown.first().locator(".kind")).toHaveCount(1);
  await expect(breakdown.first().locator(".share-label")).toHaveText(/^\d+(\.\d+)?%$/);

  expect(await page.locator("#guardrail-stages tbody tr").count()).toBeGreaterThan(0);
  const models = page.locator("#models tbody tr");
  expect(await models.count()).toBeGreaterThan(0);
  await expect(page.locator("#models")).toContainText("claude-");
  expect(await page.locator("#cost tbody tr").count()).toBe(await models.count());
  await expect(page.locator("#cost-per-request td").nth(3)).toHaveText(/^\$\d/);

  // Exemplars link to the waterfall.
  const slow = page.locator("#slowest-traces tbody tr");
  expect(await slow.count()).toBeGreaterThan(0);
  const slowId = await slow.first().getAttribute("data-trace-id");
  await slow.first().locator("td.name a").click();
  await expect(page).toHaveURL(new RegExp(`/traces/${slowId}$`));
  await expect(page.locator("#trace-page .span-row").first()).toBeVisible({ timeout: 20_000 });

  await page.goBack();
  await expect(page.locator("#failed-traces tbody tr").first()).toBeVisible({ timeout: 20_000 });
  const failed = page.locator("#failed-traces tbody tr").first();
  await expect(failed.locator(".badge")).toHaveText("ERROR");
  const failedId = await failed.getAttribute("data-trace-id");
  await failed.locator("td.name a").click();
  await expect(page).toHaveURL(new RegExp(`/traces/${failedId}$`));
  await expect(page.locator("#trace-page .span-row.error").first()).toBeVisible({ timeout: 20_000 });

  expect(errors).toEqual([]);
});

test("the range and the scope live in the URL and drive the panels", async ({ page }) => {
  const errors = watchErrors(page);
  await openWithData(page);
  const hourCaption = await page.locator("#board-window").textContent();

  await page.locator('#range a[data-range="15m"]').click();
  await expect(page).toHaveURL(/\?range=15m$/);
  await expect(page.locator('#range a[data-range="15m"]')).toHaveClass(/active/);
  await expect(page.locator("#board-window")).not.toHaveText(hourCaption ?? "");
  const quarter = await traceCount(page);
  expect(quarter).toBeGreaterThan(0);

  // A scope narrows every panel; the URL keeps the window too.
  const scope = "tags.intent = 'recommendation'";
  await page.locator("#scope").fill(scope);
  await page.locator("#scope").press("Enter");
  await expect(page).toHaveURL(/range=15m.*scope=|scope=.*range=15m/);
  expect(new URL(page.url()).searchParams.get("scope")).toBe(scope);
  // A quarter of the demo's messages are recommendations.
  await expect.poll(() => traceCount(page)).toBeLessThan(quarter);
  expect(await traceCount(page)).toBeGreaterThan(0);
  await expect(page.locator("#panel-latency svg.chart")).toHaveCount(1);

  // The link reproduces the view.
  const url = page.url();
  await openHydrated(page, url);
  await expect(page.locator("#scope")).toHaveValue(scope);
  await expect(page.locator('#range a[data-range="15m"]')).toHaveClass(/active/);

  // A scope nothing matches: every panel shows its empty state.
  await page.locator("#scope").fill("tags.intent = 'no-such-intent'");
  await page.locator("#scope").press("Enter");
  await expect(page).toHaveURL(/no-such-intent/);
  await expect.poll(() => traceCount(page)).toBe(0);
  for (const id of [...CHART_PANELS, "panel-breakdown", "panel-models", "panel-slowest"]) {
    await expect(page.locator(`#${id} .panel-empty`), id).toHaveText("No traces in this window");
  }

  // A custom window: from/to in the URL, shown in the caption.
  await page.locator("#custom-range").click();
  await page.locator("#from").fill("2026-01-01T10:00");
  await page.locator("#to").fill("2026-01-01T11:30");
  await page.locator("#apply-window").click();
  await expect(page).toHaveURL(/from=.*&to=/);
  const params = new URL(page.url()).searchParams;
  expect([params.get("from"), params.get("to")]).toEqual(["2026-01-01T10:00Z", "2026-01-01T11:30Z"]);
  await expect(page.locator("#board-window")).toContainText("2026-01-01 10:00 – 11:30 UTC");
  await expect(page.locator("#custom-range")).toHaveClass(/active/);

  expect(errors).toEqual([]);
});

test("an invalid scope or window shows what is wrong", async ({ page }) => {
  await openHydrated(page);
  await page.locator("#scope").fill("status = ");
  await expect(page.locator("#scope-error")).toHaveText(/^at column \d+: .+/);
  await expect(page.locator("#scope")).toHaveAttribute("aria-invalid", "true");
  await page.locator("#scope").press("Enter");
  await expect(page).toHaveURL(/\/$/);

  // Typed into the URL, the server names the field and column.
  await page.goto(`/?scope=${encodeURIComponent("status = ")}`);
  await expect(page.locator("#overview-error")).toHaveText(/invalid scope: at column \d+: /);

  await page.goto("/?from=yesterday&to=2026-01-01T10:00");
  await expect(page.locator("#overview-error")).toContainText("invalid from");
  await expect(page.locator("#overview-error")).toContainText("'yesterday'");
});

test("pages carry the security headers and still hydrate under them", async ({ page }) => {
  const response = await openHydrated(page);
  const headers = response!.headers();
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["referrer-policy"]).toBe("same-origin");
});

test("a relative window refreshes every 30 s; a custom one stays put", async ({ page }) => {
  await page.clock.install();
  await openHydrated(page, "/?range=15m");
  const refreshed = page.waitForResponse((r) => /get_overview/.test(r.url()), { timeout: 10_000 });
  await page.clock.fastForward(31_000);
  expect((await refreshed).status()).toBe(200);

  await openHydrated(page, "/?from=2026-01-01T10:00Z&to=2026-01-01T11:00Z");
  let fetched = 0;
  page.on("request", (r) => {
    if (/get_overview/.test(r.url())) fetched += 1;
  });
  await page.clock.fastForward(61_000);
  await page.waitForTimeout(500);
  expect(fetched).toBe(0);
});

test("full-page screenshot of the overview", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await openWithData(page);
  await expect(page.locator("#panel-heatmap svg.chart")).toHaveCount(1);
  await page.screenshot({ path: path.join(SHOTS, "overview.png"), fullPage: true });
});
