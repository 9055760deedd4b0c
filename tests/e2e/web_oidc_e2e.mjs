// The reference web client signing in through an OIDC provider by redirect (code + PKCE), in
// headless Chromium. Run by tests/e2e/test_web.py with APP_URL (the served app, whose
// config.json names the fake provider at ISSUER), CHROMIUM, PLAYWRIGHT_FROM and ARTIFACTS.
// The provider's first access token lives 65 s (so renewal starts after 5 s, with the refresh
// token), the renewed one 8 s, and it refuses a second refresh: the session then runs out.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";

const { chromium } = createRequire(required("PLAYWRIGHT_FROM"))("playwright-core");
const appUrl = required("APP_URL");
const issuer = required("ISSUER");
const artifacts = required("ARTIFACTS");

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let browser;
let page;
const problems = [];
const graphql = []; // {operationName, authorization} of every POST /graphql
const frames = [];
const tokens = []; // what /token answered, in order
const navigations = [];
const authorizations = []; // the provider's authorize requests (redirects: no navigation of their own)

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("request", (request) => {
    if (request.url().startsWith(`${issuer}/authorize?`)) authorizations.push(new URL(request.url()));
    if (request.method() === "POST" && request.url().endsWith("/graphql")) {
      graphql.push({
        operationName: JSON.parse(request.postData() ?? "{}").operationName,
        authorization: request.headers().authorization,
      });
    }
  });
  page.on("response", async (response) => {
    if (response.url() === `${issuer}/token` && response.request().method() === "POST") {
      const grant = new URLSearchParams(response.request().postData() ?? "").get("grant_type");
      tokens.push({ grant, status: response.status(), body: await response.json().catch(() => null) });
    }
  });
  page.on("framenavigated", (frame) => frame === page.mainFrame() && navigations.push(frame.url()));
  page.on("websocket", (socket) => socket.on("framesent", ({ payload }) => frames.push(String(payload))));
});

// Polls `ready` (a function of what was recorded) until it holds or `ms` pass.
async function until(ready, ms, what) {
  const deadline = Date.now() + ms;
  while (!ready()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await page.waitForTimeout(50);
  }
}

after(async () => {
  await browser?.close();
});

test("the sign-in screen offers the provider, and the token paste for development", async () => {
  await page.goto(`${appUrl}#/`);
  await page.getByRole("button", { name: "Sign in with Test Identity" }).waitFor();
  await page.getByText("Developer sign-in with a token").click();
  await page.getByLabel("Access token").waitFor();
  await page.screenshot({ path: join(artifacts, "web-signin-oidc.png"), fullPage: true });
});

test("signing in by redirect: code + PKCE, tokens in sessionStorage, `me` works", async () => {
  await page.getByRole("button", { name: "Sign in with Test Identity" }).click();
  await page.getByTestId("signed-in-as").waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId("signed-in-as").textContent(), "Milo Member");
  await page.getByRole("heading", { name: "My assignments" }).waitFor();
  // Through the provider and back to the app, whose address lost the code.
  assert.equal(authorizations.length, 1);
  const params = authorizations[0].searchParams;
  assert.equal(params.get("response_type"), "code");
  assert.equal(params.get("code_challenge_method"), "S256");
  assert.equal(params.get("redirect_uri"), appUrl);
  assert.ok(navigations.some((url) => url.startsWith(`${appUrl}?code=`)), navigations.join("\n"));
  assert.equal(page.url(), `${appUrl}#/`); // back where the sign-in started, without the code
  await until(() => tokens.length > 0, 5_000, "the token response");
  assert.equal(tokens[0].grant, "authorization_code");
  assert.equal(tokens[0].status, 200);
  const access = tokens[0].body.access_token;
  // The access token goes as Bearer over HTTP, and in connection_init over the WebSocket.
  const home = graphql.find((r) => r.operationName === "Home");
  assert.equal(home?.authorization, `Bearer ${access}`);
  const init = frames.map((f) => JSON.parse(f)).find((m) => m.type === "connection_init");
  assert.equal(init?.payload?.authorization, `Bearer ${access}`);
  await page.locator("[data-testid=connection] .live").waitFor({ timeout: 10_000 });
  // Kept in this tab's sessionStorage only.
  const stored = await page.evaluate(() => ({
    session: Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user:")),
    local: Object.keys(localStorage).filter((k) => k.startsWith("oidc.")),
  }));
  assert.equal(stored.session.length, 1, JSON.stringify(stored));
  assert.deepEqual(stored.local, []);
  await page.screenshot({ path: join(artifacts, "web-signed-in-oidc.png"), fullPage: true });
});

test("the token is renewed silently and the next requests carry the new one", async () => {
  await until(() => tokens.some((t) => t.grant === "refresh_token"), 15_000, "a refresh");
  const renewed = tokens.find((t) => t.grant === "refresh_token");
  assert.equal(renewed.status, 200);
  const fresh = renewed.body.access_token;
  assert.notEqual(fresh, tokens[0].body.access_token);
  // Open the run: its query goes out with the renewed token, and the API takes it.
  const before = graphql.length;
  await page.getByRole("button", { name: /Open run/ }).first().click();
  await page.getByRole("list", { name: "Items" }).waitFor({ timeout: 5_000 });
  const runPage = graphql.slice(before).find((r) => r.operationName === "RunPage");
  assert.equal(runPage?.authorization, `Bearer ${fresh}`);
});

test("a token that cannot be renewed ends the session when it runs out", async () => {
  const message = page.getByTestId("signin-message");
  await message.waitFor({ timeout: 20_000 });
  assert.match(await message.textContent(), /Your session expired/);
  assert.ok(tokens.filter((t) => t.grant === "refresh_token").some((t) => t.status === 400));
  await page.getByRole("button", { name: "Sign in with Test Identity" }).waitFor();
  const left = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user:")));
  assert.deepEqual(left, []);
  await page.screenshot({ path: join(artifacts, "web-session-expired.png"), fullPage: true });
  assert.deepEqual(problems, []);
});
