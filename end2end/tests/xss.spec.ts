import * as crypto from "node:crypto";
import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";

// Stored XSS: a client controls every string Sightline shows (span names, inputs, outputs,
// attributes, events, status messages, tags). Each payload below would set `window.__xss`
// if it ever ran; the pages must show them as text. Filter values with SQL metacharacters
// must stay values.

const SHOTS = path.join(__dirname, "..", "screenshots");

const PAYLOADS = {
  name: `<img src=x onerror="window.__xss='span name'">`,
  input: `<script>window.__xss='input'</script>`,
  output: `<a href="javascript:window.__xss='output'">click me</a>`,
  url: `javascript:window.__xss='url'`,
  event: `<iframe src="javascript:window.__xss='event'"></iframe>`,
  status: `<svg onload="window.__xss='status'"></svg>`,
  tag: `"><img src=x onerror="window.__xss='tag'">`,
};

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const ns = (ms: number) => (BigInt(Math.round(ms)) * 1_000_000n).toString();

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("dialog", (d) => errors.push(`dialog: ${d.message()}`));
  return errors;
}

/** Nothing ran, and no element a payload could have smuggled in exists. */
async function expectInert(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
  const smuggled = await page.evaluate(() => ({
    // Leptos serialises the page's data into an inline script for hydration, payloads
    // included as escaped string literals; a smuggled script would carry one as its code.
    scripts: Array.from(document.scripts).filter((s) => s.text.trim().startsWith("window.__xss")).length,
    handlers: document.querySelectorAll("[onerror], [onload], [onmouseover]").length,
    iframes: document.querySelectorAll("iframe").length,
    jsLinks: Array.from(document.querySelectorAll("a[href]")).filter((a) =>
      (a.getAttribute("href") ?? "").trim().toLowerCase().startsWith("javascript:"),
    ).length,
  }));
  expect(smuggled).toEqual({ scripts: 0, handlers: 0, iframes: 0, jsLinks: 0 });
}

test("span content with <script>, onerror= and javascript: links renders as inert text", async ({
  page,
  request,
}) => {
  const errors = watchErrors(page);
  const traceId = crypto.randomBytes(16).toString("hex");
  const now = Date.now();
  const body = {
    resourceSpans: [
      {
        resource: {
          attributes: [str("service.name", "e2e-xss"), str("deployment.note", PAYLOADS.tag)],
        },
        scopeSpans: [
          {
            scope: { name: "xss.spec.ts" },
            spans: [
              {
                traceId,
                spanId: "7a00000000000001",
                name: PAYLOADS.name,
                kind: 1,
                startTimeUnixNano: ns(now - 1_000),
                endTimeUnixNano: ns(now),
                attributes: [
                  str("openinference.span.kind", "LLM"),
                  str("input.value", PAYLOADS.input),
                  str("output.value", PAYLOADS.output),
                  str("url.full", PAYLOADS.url),
                ],
                events: [
                  {
                    name: "exception",
                    timeUnixNano: ns(now - 10),
                    attributes: [
                      str("exception.type", "ValueError"),
                      str("exception.message", PAYLOADS.event),
                    ],
                  },
                ],
                status: { code: 2, message: PAYLOADS.status },
              },
            ],
          },
        ],
      },
    ],
  };
  const r = await request.post("/v1/traces", {
    data: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  expect(r.status(), await r.text()).toBe(200);

  // The trace page: header, tags, waterfall, then the span's detail with every payload.
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`/traces/${traceId}`);
  await expect(page.locator("#trace-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 45_000,
  });
  await expect(page.locator("#trace-name")).toHaveText(PAYLOADS.name);
  await expect(page.locator("#trace-tags")).toContainText(PAYLOADS.tag);
  await page.locator("#waterfall .span-row").first().click();
  const detail = page.locator("#span-detail");
  await expect(detail.locator(".sd-name")).toHaveText(PAYLOADS.name);
  for (const text of [PAYLOADS.input, PAYLOADS.output, PAYLOADS.url, PAYLOADS.event, PAYLOADS.status]) {
    await expect(detail).toContainText(text);
  }
  await expectInert(page);
  await page.screenshot({ path: path.join(SHOTS, "xss-trace.png"), fullPage: true });

  // The trace list shows the name and the input preview; a search for the markup finds it.
  await page.goto(`/traces?filter=${encodeURIComponent("span.content LIKE '%<script>%'")}`);
  await expect(page.locator("#traces-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 45_000,
  });
  await expect(page.locator(`#trace-table tr.trace-row[data-trace-id="${traceId}"]`)).toBeVisible();
  await expectInert(page);

  // SQL metacharacters in filter values are values: no error, no match, the table survives.
  for (const filter of [
    `tags.\`deployment.note\` = 'x''; DROP TABLE traces; --'`,
    `name LIKE '%'' OR ''1''=''1'`,
    `span.content LIKE '%\\'%; DELETE FROM spans; --'`,
  ]) {
    await page.goto(`/traces?filter=${encodeURIComponent(filter)}`);
    await expect(page.locator("#traces-page")).toHaveAttribute("data-hydrated", "true", {
      timeout: 45_000,
    });
    await expect(page.locator(`#trace-table tr.trace-row[data-trace-id="${traceId}"]`)).toHaveCount(0);
  }
  await page.goto(`/traces?filter=${encodeURIComponent("service = 'e2e-xss'")}`);
  await expect(page.locator(`#trace-table tr.trace-row[data-trace-id="${traceId}"]`)).toBeVisible({
    timeout: 45_000,
  });
  await expectInert(page);

  // The overview draws span and service names into SVG charts (set as inner HTML).
  await page.goto("/?range=15m");
  await expect(page.locator("#overview-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 45_000,
  });
  await expectInert(page);
  expect(errors).toEqual([]);
});
