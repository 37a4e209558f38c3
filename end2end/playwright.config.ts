import { defineConfig } from "@playwright/test";

// Offline machines: drive Debian's /usr/bin/chromium; never `npx playwright install`.
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// site-addr in [[workspace.metadata.leptos]] (Cargo.toml).
const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:5000";

export default defineConfig({
  testDir: "./tests",
  // `cargo leptos end-to-end` starts the server and Playwright together: wait for /healthz.
  globalSetup: "./global-setup.ts",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "off",
    launchOptions: {
      executablePath: chromiumPath,
      // Closed network: no QUIC, no background fetches, updates or sync.
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
});
