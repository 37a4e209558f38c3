import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";

// Runs against `sightline serve --demo`: the price table holds the seed list prices; this
// test adds a model of its own (a fresh name per run), edits it and deletes it.

const SHOTS = path.join(__dirname, "..", "screenshots");

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // A refused save answers 400 on purpose; the browser logs that as a failed resource.
    if (m.type() === "error" && !m.text().includes("400 (Bad Request)")) {
      errors.push(`console.error: ${m.text()} (${m.location().url})`);
    }
  });
  return errors;
}

test("/prices: add a price for a new model, see it listed, edit it, delete it", async ({
  page,
}) => {
  const errors = watchErrors(page);
  const model = `e2e-chat-${Date.now()}`;
  const today = new Date().toISOString().slice(0, 10);

  const response = await page.goto("/prices");
  expect(response?.status()).toBe(200);
  await expect(page.locator("#prices-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#prices-page h1")).toHaveText("Prices");
  await expect(page.locator("nav a[href='/prices']")).toHaveAttribute("aria-current", "page");
  // The seed list is there, with the price in force marked.
  const gpt4o = page.locator("tbody.model-group[data-model='gpt-4o']");
  await expect(gpt4o.locator("tr.in-force td.input")).toHaveText("$2.50");
  await expect(page.locator("#price-effective")).toHaveValue(today);

  // A bad rate is refused by the server and shown next to the form, naming the field.
  await page.locator("#price-model").fill(model);
  await page.locator("#price-provider").fill("acme");
  await page.locator("#price-input").fill("abc");
  await page.locator("#price-output").fill("5");
  await page.locator("#price-save").click();
  await expect(page.locator("#price-error")).toContainText("input_per_mtok");
  await expect(page.locator("#price-input")).toHaveClass(/invalid/);

  // Add.
  await page.locator("#price-input").fill("1.25");
  await page.locator("#price-cached").fill("0.125");
  await page.locator("#price-save").click();
  await expect(page.locator("#price-saved")).toContainText(`Saved ${model} from ${today}.`);
  await expect(page.locator("#price-error")).toHaveCount(0);
  const row = page.locator(`tr.price-row[data-model='${model}'][data-from='${today}']`);
  await expect(row.locator("td.input")).toHaveText("$1.25");
  await expect(row.locator("td.output")).toHaveText("$5.00");
  await expect(row.locator("td.cached")).toHaveText("$0.125");
  await expect(row.locator(".badge")).toHaveText("in force");

  // Filter by name: only the new model is left, and the URL holds the filter.
  await page.locator("#price-filter").fill(model);
  await expect(page).toHaveURL(new RegExp(`/prices\\?model=${model}$`));
  await expect(page.locator("tbody.model-group")).toHaveCount(1);
  await expect(row).toBeVisible();

  // Edit: the row fills the form; the same model and date updates the row in place.
  await page.locator("#price-model").fill("");
  await row.locator("button.edit").click();
  await expect(page.locator("#price-model")).toHaveValue(model);
  await expect(page.locator("#price-input")).toHaveValue("1.25");
  await expect(page.locator("#price-effective")).toHaveValue(today);
  await page.locator("#price-output").fill("6");
  await page.locator("#price-save").click();
  await expect(row.locator("td.output")).toHaveText("$6.00");
  await expect(page.locator(`tr.price-row[data-model='${model}']`)).toHaveCount(1);
  await page.screenshot({ path: path.join(SHOTS, "prices-edited.png"), fullPage: true });

  // Delete asks first; cancel keeps the row, confirm removes it.
  await row.locator("button.delete").click();
  await row.locator("button.cancel-delete").click();
  await expect(row.locator("button.delete")).toBeVisible();
  await row.locator("button.delete").click();
  await expect(row.locator(".confirm-text")).toHaveText("Delete?");
  await row.locator("button.confirm-delete").click();
  await expect(page.locator(`tr.price-row[data-model='${model}']`)).toHaveCount(0);
  await expect(page.locator("#no-prices")).toBeVisible();

  // Gone after a reload too (it was deleted on the server, not just hidden).
  await page.goto(`/prices?model=${model}`);
  await expect(page.locator("#no-prices")).toBeVisible();
  await page.goto("/prices");
  await page.screenshot({ path: path.join(SHOTS, "prices.png"), fullPage: false });
  expect(errors).toEqual([]);
});
