import * as path from "node:path";
import { test, expect } from "@playwright/test";

// Runs against `sightline serve --demo` started with --retain-payloads=30d,
// --retain-spans=90d and --retain-rollups=400d (scripts/test.sh): the storage page shows the
// policy, what is stored (the demo traffic), and that the next run deletes nothing yet (the
// demo data is minutes old).

const SHOTS = path.join(__dirname, "..", "screenshots");

test("/settings/retention: policy, sizes and what the next run deletes", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  const response = await page.goto("/settings/retention");
  expect(response?.status()).toBe(200);
  await expect(page.locator("nav a[href='/settings/retention']")).toHaveAttribute(
    "aria-current",
    "page",
  );
  await expect(page.locator("#policy-payloads")).toHaveText("30d");
  await expect(page.locator("#policy-spans")).toHaveText("90d");
  await expect(page.locator("#policy-rollups")).toHaveText("400d");
  await expect(page.locator("#size-bytes")).toHaveText(/\d+(\.\d+)? (kB|MB|GB)/);
  const traces = Number((await page.locator("#size-traces").textContent())!.replace(/[^\d.]/g, ""));
  expect(traces).toBeGreaterThan(0);
  await expect(page.locator("#next-when")).toContainText("will delete");
  await expect(page.locator("#next-counts td.traces")).toHaveText("0 (0 spans)");
  await expect(page.locator("#next-counts td.payloads")).toHaveText("0");
  await page.screenshot({ path: path.join(SHOTS, "retention.png"), fullPage: true });
  expect(errors).toEqual([]);
});
