import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";

// Runs against `sightline serve --demo`: the MangaAssist workload's traces carry sessions
// (`sess-…`), most of them with several messages.

const SHOTS = path.join(__dirname, "..", "screenshots");

type SessionRow = { id: string; href: string; traces: number; tokens: string; errors: number };

async function readSessions(page: Page): Promise<SessionRow[]> {
  return page.locator("#session-table tr.session-row").evaluateAll((trs) =>
    trs.map((tr) => {
      const td = Array.from(tr.querySelectorAll("td")).map((c) => (c.textContent ?? "").trim());
      return {
        id: tr.getAttribute("data-session-id") ?? "",
        href: tr.querySelector("td.name a")?.getAttribute("href") ?? "",
        traces: Number(td[2]),
        tokens: td[6] ?? "",
        errors: Number(td[8]),
      };
    }),
  );
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  return errors;
}

/** Reloads /sessions until a demo session with several messages is listed. */
async function waitForSessions(page: Page): Promise<SessionRow[]> {
  let rows: SessionRow[] = [];
  await expect
    .poll(
      async () => {
        await page.goto("/sessions");
        await expect(page.locator("#sessions-page")).toHaveAttribute("data-hydrated", "true", {
          timeout: 20_000,
        });
        rows = await readSessions(page);
        return rows.some((r) => r.id.startsWith("sess-") && r.traces >= 3);
      },
      { timeout: 40_000, message: "a demo session with 3+ messages should be listed" },
    )
    .toBe(true);
  return rows;
}

test("/sessions lists the demo's sessions with counts; a session reads as a conversation", async ({
  page,
}) => {
  const errors = watchErrors(page);
  const response = await page.goto("/sessions");
  expect(response?.status()).toBe(200);
  await expect(page.locator("#sessions-page h1")).toHaveText("Sessions");
  await expect(page.locator("header.topbar nav a", { hasText: "Sessions" })).toBeVisible();

  const rows = await waitForSessions(page);
  for (const r of rows) {
    expect(r.traces, r.id).toBeGreaterThan(0);
    expect(r.href).toBe(`/sessions/${r.id}`);
    expect(r.tokens).toMatch(/^[\d.kM]+ \/ [\d.kM]+$/);
    expect(r.errors).toBeGreaterThanOrEqual(0);
  }
  await page.screenshot({ path: path.join(SHOTS, "sessions.png") });

  const pick = rows.find((r) => r.id.startsWith("sess-") && r.traces >= 3)!;
  await page.locator(`tr.session-row[data-session-id="${pick.id}"] td.name a`).click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${pick.id}$`));
  await expect(page.locator("#session-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#session-id")).toHaveText(pick.id);

  const turns = page.locator("#conversation .turn");
  // The live demo may have added a message since the list was read.
  expect(await turns.count()).toBeGreaterThanOrEqual(pick.traces);
  const starts = await turns.evaluateAll((els) =>
    els.map((e) => Number(e.getAttribute("data-start-ms"))),
  );
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
  const first = turns.first();
  await expect(first.locator(".bubble.user .content")).not.toBeEmpty();
  await expect(first.locator(".bubble.assistant .content")).not.toBeEmpty();
  await expect(first.locator(".bubble.user .content")).not.toHaveText(/^\{/);
  await expect(first.locator("span.badge")).toHaveText(/^(OK|ERROR|IN PROGRESS)$/);
  await page.screenshot({ path: path.join(SHOTS, "session.png"), fullPage: true });

  const traceId = await first.getAttribute("data-trace-id");
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  await first.locator("a.open-trace").click();
  await expect(page).toHaveURL(new RegExp(`/traces/${traceId}$`));
  await expect(page.locator("#trace-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#trace-name")).toBeVisible();

  expect(errors).toEqual([]);
});

test("an unknown session answers 404 with a way back", async ({ page }) => {
  const response = await page.goto("/sessions/sess-does-not-exist");
  expect(response?.status()).toBe(404);
  await expect(page.locator("#session-error")).toContainText("not found");
  await expect(page.locator("#session-page a[href='/sessions']")).toBeVisible();
});
