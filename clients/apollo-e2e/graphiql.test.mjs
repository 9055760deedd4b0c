// GraphiQL as served by the API, in headless Chromium (Debian's, driven by playwright-core).
// Run by tests/e2e/test_graphiql.py with GRAPHQL_URL, OWNER_TOKEN, ORG_ID and CHROMIUM.
// Loads the page, checks it came entirely from the API under its Content-Security-Policy with
// no violation, pastes a token into the prefilled headers editor, runs a query and sees the
// result, then runs a subscription (over WebSockets) and sees its first event.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

const url = required("GRAPHQL_URL");
const token = required("OWNER_TOKEN");
const orgId = required("ORG_ID");
const origin = new URL(url).origin;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// The visible tool editor: the headers tab is open by default (variables' is hidden).
const HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";

let browser;
let page;
const requested = [];
const sockets = [];
const problems = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  page = await browser.newPage();
  page.on("request", (request) => requested.push(request.url()));
  page.on("websocket", (socket) => sockets.push(socket.url()));
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  // Runs through the DevTools protocol, so the page's CSP does not apply to it.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
});

after(async () => {
  await browser?.close();
});

async function editorValue(selector) {
  return page.$eval(`${selector} .CodeMirror`, (element) => element.CodeMirror.getValue());
}

async function setEditor(selector, text) {
  await page.$eval(`${selector} .CodeMirror`, (element, value) => element.CodeMirror.setValue(value), text);
}

async function run(query, expected) {
  await setEditor(".graphiql-query-editor", query);
  // GraphiQL picks up the new operation name from the editor after a short debounce.
  await page.waitForTimeout(500);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    (needle) => {
      const editor = document.querySelector(".graphiql-response .CodeMirror");
      return editor && editor.CodeMirror.getValue().includes(needle);
    },
    expected,
    { timeout: 15_000 },
  );
  return editorValue(".graphiql-response");
}

test("GraphiQL loads from the API's own assets under its CSP", async () => {
  const response = await page.goto(url, { waitUntil: "load" });
  assert.equal(response.status(), 200);
  const csp = response.headers()["content-security-policy"];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: 20_000 });
  for (const address of requested) {
    assert.ok(address.startsWith(origin) || address.startsWith("data:"), `off-origin: ${address}`);
  }
  assert.ok(requested.some((a) => a.includes("/graphiql/assets/graphiql.min.js")));
});

test("the headers editor is ready for a token", async () => {
  const headers = await editorValue(HEADERS_EDITOR);
  assert.deepEqual(JSON.parse(headers), { Authorization: "Bearer " });
  await setEditor(HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
});

test("a query runs and its result shows", async () => {
  const result = JSON.parse(await run("query Me { me { userId email } }", "demo-owner"));
  assert.deepEqual(result, { data: { me: { userId: "demo-owner", email: "owner@demo.example" } } });
});

test("a subscription runs over WebSockets with the editor's token", async () => {
  // A snapshot of who is on the organization, then this very connection joining it.
  const query = `subscription Here {
    presence(entityId: "${orgId}") { kind entry { userId } entries { userId } }
  }`;
  const result = JSON.parse(await run(query, '"JOIN"'));
  assert.equal(result.data.presence.kind, "JOIN");
  assert.equal(result.data.presence.entry.userId, "demo-owner");
  assert.deepEqual(sockets, [url.replace(/^http/, "ws")]);
});

test("no CSP violation and no error on the page", async () => {
  const violations = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual(violations, []);
  assert.deepEqual(problems, []);
});
