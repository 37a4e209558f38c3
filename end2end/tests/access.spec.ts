import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { test, expect, type Page } from "@playwright/test";

// Access control in a browser, against a second server this test starts with --auth=on on
// its own port and database (the shared demo server runs with authentication off): the
// first admin's one-time password from the server's output, signing in, choosing a
// password, adding a viewer and an API key on the Access page, ingest with and without the
// key, and a viewer refused an edit.

const SHOTS = path.join(__dirname, "..", "screenshots");
const ROOT = path.join(__dirname, "..", "..");
const PORT = 5057;
const BASE = `http://127.0.0.1:${PORT}`;

let server: ChildProcess | undefined;
let adminOtp = "";
let dataDir = "";

function binary(): string {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, "target");
  return path.join(target, "debug", "sightline");
}

test.beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sightline-e2e-auth-"));
  server = spawn(
    binary(),
    [
      "serve",
      "--auth=on",
      `--listen=127.0.0.1:${PORT}`,
      "--otlp-http-listen=off",
      "--otlp-grpc-listen=off",
      `--database-url=sqlite://${path.join(dataDir, "auth.db")}`,
    ],
    { cwd: ROOT, env: { ...process.env, RUST_LOG: "warn" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  adminOtp = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no one-time password in:\n${stderr}`)), 60_000);
    server!.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = stderr.match(/one-time password:\s+(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server!.on("exit", (code) => reject(new Error(`server exited (${code}):\n${stderr}`)));
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("auth server not up");
});

test.afterAll(async () => {
  server?.kill("SIGTERM");
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(page: Page, user: string, password: string) {
  await page.locator("#login-username").fill(user);
  await page.locator("#login-password").fill(password);
  await page.locator("#login-submit").click();
}

async function choosePassword(page: Page, current: string, next: string) {
  await expect(page).toHaveURL(`${BASE}/account`);
  // The form reports its result only once the page has hydrated.
  await expect(page.locator("#account-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 30_000,
  });
  await expect(page.locator("#must-change")).toBeVisible();
  await page.locator("#password-current").fill(current);
  await page.locator("#password-new").fill(next);
  await page.locator("#password-confirm").fill(next);
  await page.locator("#password-save").click();
  await expect(page.locator("#password-saved")).toContainText("Password changed");
}

function otlpBody() {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "e2e-auth" } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: "5b8efff798038103d269b633813fc60c",
                spanId: "eee19b7ec3c1b174",
                name: "chat",
                kind: 1,
                startTimeUnixNano: (now - 1_000_000n).toString(),
                endTimeUnixNano: now.toString(),
              },
            ],
          },
        ],
      },
    ],
  };
}

test("auth on: sign in with the printed one-time password, manage users and keys, roles hold", async ({
  page,
  request,
}) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));

  // Signed out, a page leads to the sign-in page and back after.
  await page.goto(`${BASE}/traces`);
  await expect(page).toHaveURL(`${BASE}/login?next=/traces`);
  await signIn(page, "admin", "not the password");
  await expect(page.locator("#login-error")).toHaveText("Wrong user name or password.");
  await page.screenshot({ path: path.join(SHOTS, "access-login.png"), fullPage: true });

  // The one-time password works once: the account page asks for a new one first.
  await signIn(page, "admin", adminOtp);
  await choosePassword(page, adminOtp, "admin password e2e");
  await page.goto(`${BASE}/settings/access`);
  await expect(page.locator("#access-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#nav-account")).toContainText("admin");
  await expect(page.locator("tr.user-row[data-user='admin'] td.status")).toHaveText("active");

  // A viewer, with a one-time password shown once.
  await page.locator("#user-name").fill("vera");
  await page.locator("#user-role").selectOption("viewer");
  await page.locator("#user-create").click();
  const viewerOtp = (await page.locator("#user-secret code.secret").textContent())!.trim();
  expect(viewerOtp.length).toBe(24);
  await expect(page.locator("tr.user-row[data-user='vera'] td.status")).toHaveText(
    "one-time password",
  );

  // An ingest key, shown once; the table lists only its prefix.
  await page.locator("#key-name").fill("chatbot-prod");
  await page.locator("#key-create").click();
  const key = (await page.locator("#key-secret code.secret").textContent())!.trim();
  expect(key).toMatch(/^sl_[A-Za-z0-9_-]{43}$/);
  const keyRow = page.locator("tr.key-row[data-key='chatbot-prod']");
  await expect(keyRow).toContainText("ingest");
  await expect(keyRow).not.toContainText(key);
  await page.screenshot({ path: path.join(SHOTS, "access-page.png"), fullPage: true });

  // Ingest needs that key.
  const without = await request.post(`${BASE}/v1/traces`, { data: otlpBody() });
  expect(without.status()).toBe(401);
  const withKey = await request.post(`${BASE}/v1/traces`, {
    data: otlpBody(),
    headers: { authorization: `Bearer ${key}` },
  });
  expect(withKey.status()).toBe(200);

  // Sign out; the viewer signs in, chooses a password, reads, and is refused an edit.
  await page.locator("#sign-out").click();
  await expect(page).toHaveURL(`${BASE}/login`);
  await signIn(page, "vera", viewerOtp);
  await choosePassword(page, viewerOtp, "viewer password e2e");
  await page.goto(`${BASE}/prices`);
  await expect(page.locator("#prices-page")).toHaveAttribute("data-hydrated", "true", {
    timeout: 20_000,
  });
  await expect(page.locator("#nav-access")).toHaveCount(0);
  await expect(page.locator("#nav-account")).toContainText("vera");
  await page.locator("#price-model").fill("viewer-model");
  await page.locator("#price-input").fill("1");
  await page.locator("#price-output").fill("2");
  await page.locator("#price-save").click();
  await expect(page.locator("#price-error")).toContainText("needs the editor role");
  await page.goto(`${BASE}/settings/access`);
  await expect(page.locator("#access-page")).toContainText("needs the admin role");
  expect(errors).toEqual([]);
});
