import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test, expect, type Page, type APIRequestContext } from "@playwright/test";

// The trace page (/traces/:id) against `sightline serve` with the demo workload running
// (see traces.spec.ts). Error and 10,000-span traces are posted by the tests themselves over
// OTLP/JSON to the main listener's /v1/traces.

const SHOTS = path.join(__dirname, "..", "screenshots");

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  return errors;
}

async function hydrated(page: Page, id: string) {
  await expect(page.locator(id)).toHaveAttribute("data-hydrated", "true", { timeout: 45_000 });
}

function hex(bytes: number): string {
  return crypto.randomBytes(bytes).toString("hex");
}

const spanId = (n: number) => `5a${n.toString(16).padStart(14, "0")}`;
const ns = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

type OtlpSpan = Record<string, unknown>;

async function postSpans(request: APIRequestContext, spans: OtlpSpan[]) {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [str("service.name", "e2e-trace-page")] },
        scopeSpans: [{ scope: { name: "trace.spec.ts" }, spans }],
      },
    ],
  };
  const r = await request.post("/v1/traces", {
    data: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  expect(r.status(), await r.text()).toBe(200);
}

/** The rows currently in the DOM, in display order. */
async function rowNames(page: Page): Promise<string[]> {
  return page
    .locator("#waterfall .span-row .span-name")
    .evaluateAll((els) => els.map((e) => (e.textContent ?? "").trim()));
}

const row = (page: Page, name: string) =>
  page.locator("#waterfall .span-row", {
    has: page.locator(".span-name", { hasText: new RegExp(`^${name}$`) }),
  });

test("a demo trace opens from the list; collapse, expand, keys and the chat of llm_call", async ({
  page,
}) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto("/traces?filter=service = 'mangaassist-chatbot'");
  await hydrated(page, "#traces-page");

  // A cache miss that did not fail, answered by a priced model (vllm-lora is self-hosted and
  // has no list price): it has a chat model, a cost and the full 20-span tree.
  let id = "";
  await expect
    .poll(
      async () => {
        id = await page
          .locator("#trace-table tr.trace-row:not(.is-error)")
          .evaluateAll((trs) => {
            const hit = trs.find((tr) =>
              /^claude-/.test(tr.querySelector("td.model")?.textContent ?? ""),
            );
            return hit?.getAttribute("data-trace-id") ?? "";
          });
        return id;
      },
      { timeout: 30_000, message: "a demo trace answered by a model should be listed" },
    )
    .not.toBe("");
  const link = page.locator(`tr.trace-row[data-trace-id="${id}"] td.name a`);
  await expect(link).toHaveText("chat_request");
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/traces/${id}$`));
  await hydrated(page, "#trace-page");

  await expect(page.locator("#trace-name")).toHaveText("chat_request");
  const rows = page.locator("#waterfall .span-row");
  await expect(rows).toHaveCount(20);
  const names = await rowNames(page);
  expect(names.slice(0, 4)).toEqual(["chat_request", "receive_message", "load_context", "classify_intent"]);
  await expect(rows.first()).toHaveAttribute("data-depth", "0");
  await expect(row(page, "embed_query")).toHaveAttribute("data-depth", "2");
  await expect(rows.first()).toHaveAttribute("data-span-id", /^[0-9a-f]{16}$/);
  // The root is selected at first and the pipeline's steps are on the critical path.
  await expect(page.locator(".span-row.selected")).toHaveCount(1);
  await expect(page.locator("#span-detail .sd-name")).toHaveText("chat_request");
  expect(await page.locator(".span-row.critical").count()).toBeGreaterThan(5);
  await expect(row(page, "save_return")).toHaveClass(/critical/);

  // Collapse and expand both subtrees with the caret.
  for (const [parent, children] of [
    ["rag_retrieval", ["embed_query", "vector_search", "rerank"]],
    ["generate_response", ["build_prompt", "llm_call", "parse_output"]],
  ] as const) {
    await row(page, parent).locator(".caret").click();
    await expect(rows).toHaveCount(17);
    await expect(row(page, parent)).toHaveAttribute("aria-expanded", "false");
    await expect(row(page, parent).locator(".hidden-count")).toHaveText("+3");
    for (const c of children) await expect(row(page, c)).toHaveCount(0);
    await row(page, parent).locator(".caret").click();
    await expect(rows).toHaveCount(20);
    for (const c of children) await expect(row(page, c)).toHaveCount(1);
  }

  // Select the LLM call: its conversation, tokens and attributes.
  await row(page, "llm_call").click();
  await expect(row(page, "llm_call")).toHaveClass(/selected/);
  const detail = page.locator("#span-detail");
  await expect(detail.locator(".sd-name")).toHaveText("llm_call");
  await expect(detail.locator('.chat-message[data-role="system"]')).toHaveCount(1);
  expect(await detail.locator('.chat-message[data-role="user"]').count()).toBeGreaterThan(0);
  await expect(detail.locator('.chat-message[data-role="assistant"]').last()).toBeVisible();
  await expect(detail.locator(".chat-message").first()).toHaveAttribute("data-role", "system");
  await expect(detail.locator(".chat-message").last()).toHaveAttribute("data-role", "assistant");
  await expect(detail.locator(".facts")).toContainText(/Tokens.*in \/ .* out/);
  await expect(detail.locator(".facts")).toContainText(/Cost\$0\.\d+/);
  await expect(detail.locator("#attributes-table")).toContainText("gen_ai.request.model");
  await expect(detail.locator("#span-inputs pre.json")).toContainText('"messages": [');

  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "trace.png") });

  // Keyboard: up/down move among visible rows, left goes to the parent then collapses,
  // right expands then goes to the first child.
  const selected = page.locator(".span-row.selected .span-name");
  await page.locator("#waterfall").focus();
  await page.keyboard.press("ArrowDown");
  await expect(selected).toHaveText("parse_output");
  await expect(detail.locator(".sd-name")).toHaveText("parse_output");
  await page.keyboard.press("ArrowUp");
  await expect(selected).toHaveText("llm_call");
  await page.keyboard.press("ArrowLeft");
  await expect(selected).toHaveText("generate_response");
  await page.keyboard.press("ArrowLeft");
  await expect(rows).toHaveCount(17);
  await expect(selected).toHaveText("generate_response");
  await page.keyboard.press("ArrowRight");
  await expect(rows).toHaveCount(20);
  await page.keyboard.press("ArrowRight");
  await expect(selected).toHaveText("build_prompt");

  expect(errors).toEqual([]);
});

test("an error trace marks its failing spans and shows the exception's stack trace", async ({
  page,
  request,
}) => {
  const errors = watchErrors(page);
  const traceId = hex(16);
  const t0 = Date.now() - 5_000;
  const stack =
    'Traceback (most recent call last):\n  File "/app/agent/tools.py", line 88, in lookup_order\n' +
    '    raise KeyError(order_id)\nKeyError: \'A-1042\'';
  const err = { code: 2, message: "KeyError: 'A-1042'" };
  await postSpans(request, [
    {
      traceId,
      spanId: spanId(1),
      name: "support_agent",
      kind: 2,
      startTimeUnixNano: ns(t0),
      endTimeUnixNano: ns(t0 + 900),
      attributes: [str("openinference.span.kind", "AGENT"), str("input.value", "Where is my order A-1042?")],
      status: err,
    },
    {
      traceId,
      spanId: spanId(2),
      parentSpanId: spanId(1),
      name: "plan",
      kind: 3,
      startTimeUnixNano: ns(t0 + 10),
      endTimeUnixNano: ns(t0 + 400),
      attributes: [
        str("gen_ai.operation.name", "chat"),
        str("gen_ai.request.model", "gpt-4o-mini"),
        { key: "gen_ai.usage.input_tokens", value: { intValue: "52" } },
        { key: "gen_ai.usage.output_tokens", value: { intValue: "9" } },
        str(
          "gen_ai.input.messages",
          JSON.stringify([
            { role: "system", parts: [{ type: "text", content: "You are a support agent." }] },
            { role: "user", parts: [{ type: "text", content: "Where is my order A-1042?" }] },
          ]),
        ),
        str(
          "gen_ai.output.messages",
          JSON.stringify([
            {
              role: "assistant",
              parts: [{ type: "tool_call", name: "lookup_order", arguments: { order_id: "A-1042" } }],
            },
          ]),
        ),
      ],
      status: { code: 1 },
    },
    {
      traceId,
      spanId: spanId(3),
      parentSpanId: spanId(1),
      name: "lookup_order",
      kind: 1,
      startTimeUnixNano: ns(t0 + 410),
      endTimeUnixNano: ns(t0 + 890),
      attributes: [str("openinference.span.kind", "TOOL"), str("tool.name", "lookup_order")],
      events: [
        {
          timeUnixNano: ns(t0 + 885),
          name: "exception",
          attributes: [
            str("exception.type", "KeyError"),
            str("exception.message", "'A-1042'"),
            str("exception.stacktrace", stack),
          ],
        },
      ],
      status: err,
    },
  ]);

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`/traces/${traceId}`);
  await hydrated(page, "#trace-page");
  await expect(page.locator("#trace-page .trace-head .badge")).toHaveText("ERROR");
  await expect(page.locator(".span-row")).toHaveCount(3);
  await expect(page.locator(".span-row.error")).toHaveCount(2);
  await expect(row(page, "plan")).not.toHaveClass(/error/);

  await row(page, "lookup_order").click();
  const detail = page.locator("#span-detail");
  await expect(detail.locator(".sd-name")).toHaveText("lookup_order");
  await expect(detail.locator(".status-message")).toHaveText("KeyError: 'A-1042'");
  await expect(detail.locator(".exception .exc-title")).toHaveText("KeyError: 'A-1042'");
  await expect(detail.locator(".exception .stacktrace")).toHaveText(stack);

  // GenAI parts messages become a conversation too, tool call included.
  await row(page, "plan").click();
  await expect(detail.locator(".chat-message")).toHaveCount(3);
  await expect(detail.locator('.chat-message[data-role="assistant"] .content')).toHaveText(
    '→ lookup_order({"order_id":"A-1042"})',
  );

  await row(page, "lookup_order").click();
  await expect(detail.locator(".exception .stacktrace")).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "trace-error.png") });

  // The URL follows the selection, and a link with ?span= opens that span.
  await expect(page).toHaveURL(new RegExp(`/traces/${traceId}\\?span=${spanId(3)}$`));
  await page.goto(`/traces/${traceId}?span=${spanId(3)}`);
  await hydrated(page, "#trace-page");
  await expect(page.locator(".span-row.selected .span-name")).toHaveText("lookup_order");
  await expect(detail.locator(".exception .exc-title")).toHaveText("KeyError: 'A-1042'");

  // Unknown and malformed ids answer with a message, not a blank page.
  const missing = await page.goto(`/traces/${"0".repeat(32)}`);
  expect(missing?.status()).toBe(404);
  await expect(page.locator("#trace-error")).toContainText("not found");
  const malformed = await page.goto("/traces/not-an-id");
  expect(malformed?.status()).toBe(400);
  await expect(page.locator("#trace-error")).toContainText("trace_id");

  expect(errors.filter((e) => !/status of 40\d/.test(e))).toEqual([]);
});

test("a 10,000-span trace loads fast, renders only the rows in view and scrolls", async ({
  page,
  request,
}) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  const traceId = hex(16);
  const t0 = Date.now() - 120_000;
  // root › 99 batches › 100 items each = 10,000 spans.
  const spans: OtlpSpan[] = [];
  const add = (n: number, parent: number | null, name: string, start: number, dur: number, kind: string) =>
    spans.push({
      traceId,
      spanId: spanId(n),
      ...(parent === null ? {} : { parentSpanId: spanId(parent) }),
      name,
      kind: 1,
      startTimeUnixNano: ns(t0 + start),
      endTimeUnixNano: ns(t0 + start + dur),
      attributes: [str("openinference.span.kind", kind)],
      status: { code: 1 },
    });
  add(1, null, "bulk_import", 0, 99 * 520 + 10, "CHAIN");
  let n = 2;
  let last = "";
  for (let b = 0; b < 99; b++) {
    const batch = n++;
    const bStart = 5 + b * 520;
    add(batch, 1, `batch_${String(b).padStart(3, "0")}`, bStart, 510, "AGENT");
    for (let i = 0; i < 100; i++) {
      last = spanId(n);
      add(n++, batch, `item_${b}_${i}`, bStart + 2 + i * 5, 4.5, i % 10 === 9 ? "LLM" : "TOOL");
    }
  }
  expect(spans.length).toBe(10_000);
  for (let k = 0; k < spans.length; k += 2_000) {
    await postSpans(request, spans.slice(k, k + 2_000));
  }

  await page.setViewportSize({ width: 1440, height: 900 });
  const started = Date.now();
  await page.goto(`/traces/${traceId}`);
  await hydrated(page, "#trace-page");
  await expect(page.locator("#waterfall .span-row").first()).toBeVisible();
  const loadMs = Date.now() - started;
  console.log(`10,000-span trace: loaded and hydrated in ${loadMs} ms`);
  expect(loadMs).toBeLessThan(8_000);
  await expect(page.locator(".trace-head")).toContainText("10000");

  const inDom = () => page.locator("#waterfall .span-row").count();
  expect(await inDom()).toBeLessThan(200);
  const rowsHeight = await page.locator("#waterfall .wf-rows").evaluate((e) => e.scrollHeight);
  expect(rowsHeight).toBe(10_000 * 26);

  // Scroll through in steps, each one rendered in a frame or two; then to the very bottom.
  const stepMs = await page.locator("#waterfall").evaluate(async (el) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r(null)));
    const t = performance.now();
    for (let k = 1; k <= 40; k++) {
      el.scrollTop = k * 6_000;
      await frame();
      await frame();
    }
    return (performance.now() - t) / 40;
  });
  console.log(`10,000-span trace: ${stepMs.toFixed(1)} ms per scroll step`);
  expect(stepMs).toBeLessThan(150);
  expect(await inDom()).toBeLessThan(200);

  await page.locator("#waterfall").evaluate((el) => (el.scrollTop = el.scrollHeight));
  const lastRow = page.locator(`.span-row[data-span-id="${last}"]`);
  await expect(lastRow).toBeVisible();
  await expect(lastRow.locator(".span-name")).toHaveText("item_98_99");
  expect(await inDom()).toBeLessThan(200);

  // Keyboard on the big tree: Home selects the root and scrolls back up; down, right, left.
  await page.locator("#waterfall").focus();
  await page.keyboard.press("Home");
  await expect(page.locator(".span-row.selected .span-name")).toHaveText("bulk_import");
  await page.keyboard.press("ArrowDown");
  await expect(page.locator(".span-row.selected .span-name")).toHaveText("batch_000");
  await page.keyboard.press("ArrowLeft");
  await expect(row(page, "batch_000")).toHaveAttribute("aria-expanded", "false");
  await expect(row(page, "batch_001")).toHaveAttribute("data-depth", "1");
  await expect(page.locator("#waterfall .wf-rows")).toHaveCSS("height", `${9_900 * 26}px`);
  await page.keyboard.press("ArrowRight");
  await expect(row(page, "batch_000")).toHaveAttribute("aria-expanded", "true");
  await page.keyboard.press("ArrowRight");
  await expect(page.locator(".span-row.selected .span-name")).toHaveText("item_0_0");
  await page.keyboard.press("End");
  await expect(page.locator(".span-row.selected .span-name")).toHaveText("item_98_99");
  await expect(page.locator("#span-detail .sd-name")).toHaveText("item_98_99");

  // Back to the middle for the picture: batch_049 (row 1 + 49 × 101) a few rows down.
  await page.locator("#waterfall").evaluate((el) => (el.scrollTop = (1 + 49 * 101 - 4) * 26));
  await row(page, "item_49_0").click();
  await expect(page.locator("#span-detail .sd-name")).toHaveText("item_49_0");
  await expect(row(page, "batch_049")).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "trace-10k.png") });

  expect(errors).toEqual([]);
});
