// `cargo leptos end-to-end` starts the server and this command at the same time (and the
// first build may still be linking): poll /healthz until the server answers.
export default async function globalSetup() {
  const base = process.env.BASE_URL ?? "http://127.0.0.1:5000";
  const url = new URL("/healthz", base).toString();
  const timeoutMs = Number(process.env.E2E_SERVER_TIMEOUT_MS ?? 120_000);
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) {
      throw new Error(`server not up at ${url} after ${timeoutMs / 1000}s (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
