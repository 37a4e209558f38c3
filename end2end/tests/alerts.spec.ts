import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";

// Runs against `sightline serve --demo`: the demo's traffic gives the backtest 30 minutes of
// rollups. Channels and rules get a fresh name per run; a webhook receiver runs inside the
// test on 127.0.0.1 and records what the server sends it.

const SHOTS = path.join(__dirname, "..", "screenshots");

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // A refused form answers 400 and a refused test notification 503, on purpose; the
    // browser logs those as failed resources.
    const t = m.text();
    if (m.type() === "error" && !t.includes("400 (Bad Request)") && !t.includes("503 (Service Unavailable)")) {
      errors.push(`console.error: ${t} (${m.location().url})`);
    }
  });
  return errors;
}

async function openHydrated(page: Page, url: string, pageId: string) {
  const response = await page.goto(url);
  await expect(page.locator(`#${pageId}`)).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  return response;
}

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on an ephemeral port that records every request and answers 200. */
async function startReceiver(): Promise<{ url: string; requests: Received[]; close: () => Promise<void> }> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function addWebhook(page: Page, name: string, url: string) {
  await page.locator("#channel-name").fill(name);
  await page.locator("#channel-kind").selectOption("webhook");
  await page.locator("#channel-url").fill(url);
  await page.locator("#channel-save").click();
  await expect(page.locator("#channel-saved")).toBeVisible();
  const row = page.locator(`tr.channel-row[data-channel-name='${name}']`);
  await expect(row).toBeVisible();
  return row;
}

test("/alerts: a webhook channel's test reaches the receiver; a closed port is reported", async ({
  page,
}) => {
  const errors = watchErrors(page);
  const receiver = await startReceiver();
  const stamp = Date.now();
  try {
    const response = await openHydrated(page, "/alerts", "alerts-page");
    expect(response?.status()).toBe(200);
    await expect(page.locator("#alerts-page h1")).toHaveText("Alerts");
    await expect(page.locator("nav a[href='/alerts']")).toHaveAttribute("aria-current", "page");

    // A bad field is refused and named.
    await page.locator("#channel-name").fill(`e2e-hook-${stamp}`);
    await page.locator("#channel-url").fill("");
    await page.locator("#channel-save").click();
    await expect(page.locator("#channel-error")).toContainText("url");
    await expect(page.locator("#channel-url")).toHaveClass(/invalid/);

    // Add a webhook to the local receiver and send a test: one POST arrives and the page
    // shows the channel's acceptance.
    const row = await addWebhook(page, `e2e-hook-${stamp}`, receiver.url);
    await expect(row.locator("td.channel-kind")).toHaveText("Webhook");
    await expect(row.locator(".summary")).toContainText("127.0.0.1");
    const id = await row.getAttribute("data-channel-id");
    await row.locator("button.send-test").click();
    const result = page.locator(`tr.channel-test[data-channel-id='${id}'] .test-result`);
    await expect(result).toHaveClass(/ok/, { timeout: 20_000 });
    await expect.poll(() => receiver.requests.length, { timeout: 10_000 }).toBe(1);
    expect(receiver.requests[0].method).toBe("POST");
    expect(receiver.requests[0].url).toBe("/hook");
    expect(() => JSON.parse(receiver.requests[0].body)).not.toThrow();
    await expect(result).toContainText("accepted");

    // A channel pointing at a closed port: the page shows the refusal, nothing is sent.
    const port = await closedPort();
    const dead = await addWebhook(page, `e2e-dead-${stamp}`, `http://127.0.0.1:${port}/hook`);
    const deadId = await dead.getAttribute("data-channel-id");
    await dead.locator("button.send-test").click();
    const refusal = page.locator(`tr.channel-test[data-channel-id='${deadId}'] .test-result`);
    await expect(refusal).toHaveClass(/failed/, { timeout: 30_000 });
    await expect(refusal).toContainText(/refused|connect|error sending/i);
    expect(receiver.requests.length).toBe(1);

    // Edit fills the form; delete asks first.
    await dead.locator("button.edit").click();
    await expect(page.locator("#channel-url")).toHaveValue(`http://127.0.0.1:${port}/hook`);
    await page.locator("#channel-new").click();
    await expect(page.locator("#channel-name")).toHaveValue("");
    await dead.locator("button.delete").click();
    await dead.locator("button.confirm-delete").click();
    await expect(page.locator(`tr.channel-row[data-channel-name='e2e-dead-${stamp}']`)).toHaveCount(0);

    // A silence: create it, see it active, expire it.
    await page.locator("#silence-form input.matcher-value").first().fill(`e2e silence ${stamp}`);
    await page.locator("#silence-comment").fill("e2e");
    await page.locator("#silence-save").click();
    await expect(page.locator("#silence-saved")).toBeVisible();
    const silence = page.locator("tr.silence-row.active", { hasText: `e2e silence ${stamp}` });
    await expect(silence).toHaveCount(1);
    await silence.locator("button.expire").click();
    await expect(page.locator("tr.silence-row.expired", { hasText: `e2e silence ${stamp}` })).toHaveCount(1);
    expect(errors).toEqual([]);
  } finally {
    await receiver.close();
  }
});

test("/alerts/new?preset: backtest before saving, save, list, disable/enable, edit, delete", async ({
  page,
}) => {
  const errors = watchErrors(page);
  const name = `e2e P95 ${Date.now()}`;

  // From the list's "New rule" menu, the P95 preset.
  await openHydrated(page, "/alerts", "alerts-page");
  await page.locator("#new-rule").click();
  await page.locator("#new-rule-menu a.preset", { hasText: "P95 latency" }).click();
  await expect(page).toHaveURL(/\/alerts\/new\?preset=\d+$/);
  await expect(page.locator("#alert-rule-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#rule-metric")).toHaveValue("latency_p95");
  await expect(page.locator("#rule-threshold")).toHaveValue("1500");
  await expect(page.locator("#rule-window")).toHaveValue("5m");

  // The backtest is there before saving: the chart, the coverage and the firing periods.
  await expect(page.locator("#backtest-chart svg")).toBeVisible({ timeout: 30_000 });
  await expect(page.locator("#backtest-steps")).toHaveText(/^\d+ of \d+ simulated evaluations/);
  await expect(page.locator("#backtest-summary")).toHaveText(/would (not )?have fired/);
  await page.locator("#rule-name").fill(name);

  // A bad window is named, in the backtest and when saving.
  await page.locator("#rule-window").fill("5x");
  await expect(page.locator("#preview-problems")).toContainText("window", { timeout: 10_000 });
  await page.locator("#rule-save").click();
  await expect(page.locator("#rule-error")).toContainText("window");
  await expect(page.locator("#rule-window")).toHaveClass(/invalid/);
  await expect(page).toHaveURL(/\/alerts\/new/);

  // Fixed: a lower threshold shows in the backtest, then the rule is saved.
  await page.locator("#rule-window").fill("5m");
  await page.locator("#rule-threshold").fill("200");
  await page.locator("#rule-preview").click();
  await expect(page.locator("#backtest-chart svg")).toBeVisible({ timeout: 30_000 });
  await expect(page.locator("#backtest-condition")).toContainText("200");
  await page.screenshot({ path: path.join(SHOTS, "alert-rule-editor.png"), fullPage: true });
  await page.locator("#rule-save").click();
  await expect(page).toHaveURL(/\/alerts\/\d+$/, { timeout: 15_000 });
  const ruleUrl = new URL(page.url()).pathname;
  const ruleId = ruleUrl.split("/").pop()!;
  await expect(page.locator("#rule-title")).toHaveText(name);
  await expect(page.locator("#rule-toml")).toContainText(`name = "${name}"`);
  await expect(page.locator("#rule-toml")).toContainText('metric = "latency_p95"');

  // Listed; disabled, then enabled again.
  await openHydrated(page, "/alerts", "alerts-page");
  const row = page.locator(`tr.rule-row[data-rule-id='${ruleId}']`);
  await expect(row.locator("td.name a")).toHaveText(name);
  await expect(row.locator("td.condition")).toContainText("200");
  await row.locator("button.toggle").click();
  await expect(row).toHaveAttribute("data-state", "disabled");
  await expect(row.locator("button.toggle")).toHaveText("Enable");
  await row.locator("button.toggle").click();
  await expect(row).not.toHaveAttribute("data-state", "disabled");
  await expect(row.locator("button.toggle")).toHaveText("Disable");
  await page.screenshot({ path: path.join(SHOTS, "alerts.png"), fullPage: true });

  // Edit: the saved form comes back; a change is saved in place.
  await row.locator("td.name a").click();
  await expect(page).toHaveURL(new RegExp(`${ruleUrl}$`));
  await expect(page.locator("#alert-rule-page")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("#rule-name")).toHaveValue(name);
  await expect(page.locator("#rule-threshold")).toHaveValue("200");
  await page.locator("#rule-threshold").fill("2500");
  await page.locator("#rule-save").click();
  await expect(page.locator("#rule-toml")).toContainText("threshold = 2500");
  await expect(page).toHaveURL(new RegExp(`${ruleUrl}$`));
  await page.reload();
  await expect(page.locator("#rule-threshold")).toHaveValue("2500");

  // Delete asks first, then returns to the list without the rule.
  await expect(page.locator("#alert-rule-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await page.locator("#rule-delete").click();
  await page.locator("#rule-delete-confirm").click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(page.locator(`tr.rule-row[data-rule-id='${ruleId}']`)).toHaveCount(0);

  expect(errors).toEqual([]);

  // A missing rule answers 404 (the browser logs that as a failed resource).
  const missing = await page.goto(ruleUrl);
  expect(missing?.status()).toBe(404);
  await expect(page.locator("#rule-load-error")).toContainText("not found");
});

test("/alerts/history: a firing rule's transition with its webhook delivery", async ({ page }) => {
  const errors = watchErrors(page);
  const receiver = await startReceiver();
  const stamp = Date.now();
  const channel = `e2e-oncall-${stamp}`;
  const name = `e2e always firing ${stamp}`;
  try {
    await openHydrated(page, "/alerts", "alerts-page");
    await addWebhook(page, channel, receiver.url);
    const preset = await page
      .locator("#new-rule-menu a.preset", { hasText: "P95 latency" })
      .getAttribute("href");

    // P95 above 1 ms over the demo's traffic, evaluated every 5 s, firing at once.
    await openHydrated(page, preset!, "alert-rule-page");
    await page.locator("#rule-name").fill(name);
    await page.locator("#rule-threshold").fill("1");
    await page.locator("#rule-for").fill("0s");
    await page.locator("#rule-interval").fill("5s");
    await page.locator("#rule-min-samples").fill("1");
    await page.locator(`input[name='channels'][value='${channel}']`).check();
    await page.locator("#rule-save").click();
    await expect(page).toHaveURL(/\/alerts\/\d+$/, { timeout: 15_000 });
    const ruleId = new URL(page.url()).pathname.split("/").pop()!;

    // The evaluator fires it and the notification reaches the receiver.
    await expect
      .poll(() => receiver.requests.filter((r) => r.body.includes(name)).length, {
        timeout: 45_000,
        message: "the firing notification should reach the webhook",
      })
      .toBeGreaterThan(0);
    await expect
      .poll(
        async () => {
          await openHydrated(page, `/alerts/history?rule=${ruleId}`, "alert-history-page");
          return page
            .locator("tr.alert-event[data-to='firing'] li.delivery[data-status='delivered']")
            .count();
        },
        { timeout: 30_000, intervals: [1_000, 2_000] },
      )
      .toBeGreaterThan(0);
    const event = page.locator("tr.alert-event[data-to='firing']").first();
    await expect(event.locator("td.rule a")).toHaveText(name);
    await expect(event.locator("li.delivery .channel")).toHaveText(channel);
    await expect(page.locator("#history-filter")).toBeVisible();

    // The list shows it firing, with its value.
    await openHydrated(page, "/alerts", "alerts-page");
    const row = page.locator(`tr.rule-row[data-rule-id='${ruleId}']`);
    await expect(row).toHaveAttribute("data-state", "firing");
    await expect(row.locator("li.instance")).toHaveCount(1);
    await expect(row.locator("td.eval")).not.toHaveText("never");
    await page.screenshot({ path: path.join(SHOTS, "alerts-firing.png"), fullPage: true });

    // Every rule's history.
    const response = await openHydrated(page, "/alerts/history", "alert-history-page");
    expect(response?.status()).toBe(200);
    await expect(page.locator("#alert-history-page h1")).toHaveText("Alert history");
    await expect(page.locator("tr.alert-event").first()).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, "alert-history.png"), fullPage: true });

    // The rule's page: its state, TOML and recent transitions, under the backtest.
    await openHydrated(page, `/alerts/${ruleId}`, "alert-rule-page");
    await expect(page.locator("#rule-status li.instance")).toHaveAttribute("data-phase", "firing");
    await expect(page.locator("#rule-history-panel tr.alert-event").first()).toBeVisible();
    await expect(page.locator("#backtest-chart svg")).toBeVisible({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, "alert-rule-firing.png"), fullPage: true });

    // Deleting the rule keeps its history.
    await page.locator("#rule-delete").click();
    await page.locator("#rule-delete-confirm").click();
    await expect(page).toHaveURL(/\/alerts$/);
    await page.goto(`/alerts/history?rule=${ruleId}`);
    await expect(page.locator("tr.alert-event").first()).toBeVisible();

    await page.goto("/alerts/history?rule=abc");
    await expect(page.locator("#history-error")).toContainText("rule");
    expect(errors).toEqual([]);
  } finally {
    await receiver.close();
  }
});
