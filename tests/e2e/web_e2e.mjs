// The reference web client (examples/web) in headless Chromium, two people on one run.
// Run by tests/e2e/test_web.py with APP_URL (the served app), MEMBER_TOKEN, MANAGER_TOKEN,
// CHROMIUM, PLAYWRIGHT_FROM (a package.json whose node_modules hold playwright-core) and
// ARTIFACTS (where screenshots go), MANIFEST (the build's persisted-query manifest; the server
// runs with REQUIRE_SAFELIST=true and that manifest).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";

const { chromium } = createRequire(required("PLAYWRIGHT_FROM"))("playwright-core");
const appUrl = required("APP_URL");
const artifacts = required("ARTIFACTS");
const manifest = JSON.parse(readFileSync(required("MANIFEST"), "utf8"));

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let browser;
const people = {};
const problems = [];
const bodies = [];
const frames = [];
let runId;

async function person(name, token) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`${name}: ${error.message}`));
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().endsWith("/graphql")) {
      bodies.push(request.postData() ?? "");
    }
  });
  page.on("websocket", (socket) => socket.on("framesent", ({ payload }) => frames.push(String(payload))));
  await page.goto(appUrl);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  return { context, page };
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
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
  people.member = await person("member", required("MEMBER_TOKEN"));
  people.manager = await person("manager", required("MANAGER_TOKEN"));
});

after(async () => {
  await browser?.close();
});

const checked = (page, itemId) => page.isChecked(`#item-${itemId}`);
const versions = (page) =>
  page.$$eval("[data-testid=event-log] li", (lis) => lis.map((li) => Number(li.dataset.version)));
const runVersion = async (page) => Number(await page.textContent("[data-testid=run-version]"));

async function itemStates(page) {
  return page.$$eval(".items > li", (lis) =>
    lis.map((li) => {
      const input = li.querySelector("input");
      return {
        item: li.dataset.item,
        version: li.dataset.version,
        answer: input ? (input.type === "checkbox" ? input.checked : input.value) : null,
      };
    }),
  );
}

async function waitForVersion(page, version, timeout) {
  await page.waitForFunction(
    (v) => Number(document.querySelector("[data-testid=run-version]")?.textContent) >= v,
    version,
    { timeout },
  );
}

test("the member opens their assignment's run and the manager opens the same run", async () => {
  const { page: member } = people.member;
  const { page: manager } = people.manager;
  await member.getByRole("heading", { name: "My assignments" }).waitFor();
  await member.getByRole("button", { name: /Open run/ }).first().click();
  await member.getByRole("list", { name: "Items" }).waitFor();
  runId = decodeURIComponent(new URL(member.url()).hash.replace("#/runs/", ""));
  assert.ok(runId);
  await manager.getByRole("heading", { name: "Runs in my organizations" }).waitFor();
  await manager.click(`a[href="#/runs/${encodeURIComponent(runId)}"]`);
  await manager.getByRole("list", { name: "Items" }).waitFor();
  assert.equal(await runVersion(member), await runVersion(manager));
});

test("presence shows both people on the run, and where they are", async () => {
  for (const { page } of Object.values(people)) {
    await page.waitForFunction(
      () => {
        const text = document.querySelector("[data-testid=presence]")?.textContent ?? "";
        return text.includes("Milo Member") && text.includes("Maya Manager");
      },
      null,
      { timeout: 10_000 },
    );
  }
  await people.member.page.focus("#item-fuel");
  await people.manager.page.waitForFunction(
    () => document.querySelector("[data-testid=presence] [data-user=demo-member]")?.textContent.includes("Fuel"),
    null,
    { timeout: 5_000 },
  );
});

test("a checked item shows on the other screen within a second", async () => {
  const { page: member } = people.member;
  const { page: manager } = people.manager;
  assert.equal(await checked(manager, "forks"), false);
  const started = Date.now();
  await member.click("#item-forks");
  await manager.waitForFunction(() => document.querySelector("#item-forks").checked, null, {
    timeout: 1_000,
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1_000, `${elapsed} ms`);
  assert.equal(await checked(member, "forks"), true);
});

test("offline, then back: every change shows exactly once", async () => {
  const { page: member } = people.member;
  const { page: manager, context } = people.manager;
  const before = await versions(manager);
  await context.setOffline(true);
  await manager.waitForSelector("[data-testid=connection] .reconnecting", { timeout: 10_000 });

  const start = await runVersion(member);
  await member.click("#item-brakes");
  await waitForVersion(member, start + 1, 5_000);
  await member.fill("#item-fuel", "55");
  await member.press("#item-fuel", "Enter");
  await waitForVersion(member, start + 2, 5_000);
  await member.fill("#item-notes", "Hydraulic hose chafed");
  await member.press("#item-notes", "Enter");
  await waitForVersion(member, start + 3, 5_000);
  await member.click("#item-forks");
  await waitForVersion(member, start + 4, 5_000);
  await member.click("#item-brakes");
  await waitForVersion(member, start + 5, 5_000);
  // The offline screen saw none of it.
  assert.deepEqual(await versions(manager), before);

  await context.setOffline(false);
  await waitForVersion(manager, start + 5, 15_000);
  await manager.waitForSelector("[data-testid=connection] .live", { timeout: 10_000 });
  // Nothing arrives twice afterwards either.
  await manager.waitForTimeout(500);
  const seen = await versions(manager);
  assert.equal(new Set(seen).size, seen.length, `duplicates in ${seen}`);
  for (let v = start + 1; v <= start + 5; v += 1) assert.ok(seen.includes(v), `v${v} missing: ${seen}`);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
  assert.deepEqual(await versions(member), seen);
  assert.deepEqual(await itemStates(manager), await itemStates(member));
  assert.equal(await manager.inputValue("#item-fuel"), "55");
  assert.equal(await manager.inputValue("#item-notes"), "Hydraulic hose chafed");
  await manager.screenshot({ path: join(artifacts, "web-run-after-reconnect.png"), fullPage: true });
});

test("a conflicting edit shows the notice and the other person's answer wins", async () => {
  const { page: member } = people.member;
  const { page: manager } = people.manager;
  // The manager starts typing on top of the current answer...
  await manager.click("#item-notes");
  await manager.press("#item-notes", "End");
  await manager.keyboard.type(" - manager's take");
  // ...while the member saves a different answer first.
  const start = await runVersion(member);
  await member.fill("#item-notes", "Hose replaced");
  await member.press("#item-notes", "Enter");
  await waitForVersion(manager, start + 1, 5_000);
  await manager.press("#item-notes", "Enter");
  const notice = manager.getByTestId("conflict-notice");
  await notice.waitFor({ timeout: 5_000 });
  assert.match(await notice.textContent(), /Milo Member/);
  await manager.waitForFunction(
    () => document.querySelector("#item-notes").value === "Hose replaced",
    null,
    { timeout: 5_000 },
  );
  assert.equal(await runVersion(manager), start + 1); // the refused edit made no version
  assert.equal(await member.inputValue("#item-notes"), "Hose replaced");
  await manager.screenshot({ path: join(artifacts, "web-run-conflict.png"), fullPage: true });
  await member.screenshot({ path: join(artifacts, "web-run-member.png"), fullPage: true });
});

// A real 2x2 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==",
  "base64",
);

test("a photo uploaded from the run page is attached, and the other person sees it live", async () => {
  const { page: member } = people.member;
  const { page: manager } = people.manager;
  const start = await runVersion(member);
  await member.getByLabel("Photo of the dashboard", { exact: true }).setInputFiles({
    name: "dashboard.png",
    mimeType: "image/png",
    buffer: PNG,
  });
  const files = (page) => page.getByRole("list", { name: "Files of Photo of the dashboard" });
  await files(member).getByText("dashboard.png").waitFor({ timeout: 10_000 });
  await files(manager).getByText("dashboard.png").waitFor({ timeout: 5_000 });
  await waitForVersion(manager, start + 1, 5_000);
  assert.match(await manager.textContent("[data-testid=event-log]"), /Milo Member attached a file to “Photo of the dashboard”/);
  // The download link gives back the very bytes uploaded.
  const link = files(manager).getByRole("link", { name: "Download dashboard.png" });
  const download = await fetch(await link.getAttribute("href"));
  assert.equal(download.status, 200);
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), PNG);
  assert.match(download.headers.get("content-disposition") ?? "", /dashboard\.png/);
  await manager.screenshot({ path: join(artifacts, "web-run-photo.png"), fullPage: true });
});

test("a file of the wrong type or too large is refused with a clear message", async () => {
  const { page: member } = people.member;
  const input = member.getByLabel("Photo of the dashboard", { exact: true });
  const error = member.getByTestId("upload-error");
  await input.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await error.waitFor({ timeout: 5_000 });
  assert.match(await error.textContent(), /“notes\.txt” was not attached: .*images only/);
  // 60 MB, above the demo organization's plan (STARTER: 50 MB a file); a sparse file on disk.
  const dir = mkdtempSync(join(tmpdir(), "web-e2e-"));
  try {
    const huge = join(dir, "huge.png");
    const fd = openSync(huge, "w");
    ftruncateSync(fd, 60 * 1024 * 1024);
    closeSync(fd);
    await input.setInputFiles(huge);
    await member.waitForFunction(
      () => /too large/.test(document.querySelector("[data-testid=upload-error]")?.textContent ?? ""),
      null,
      { timeout: 10_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(await error.textContent(), /“huge\.png” is too large \(60 MB\): files can be at most 50 MB\./);
  // Neither reached the item: still the one photo.
  const names = await member.getByRole("list", { name: "Files of Photo of the dashboard" }).locator("li").count();
  assert.equal(names, 1);
  await member.screenshot({ path: join(artifacts, "web-run-upload-refused.png"), fullPage: true });
});

test("operations travel as ids of the build's manifest, and the pages raised no error", async () => {
  const ids = new Map(manifest.operations.map((op) => [op.id, op]));
  for (const op of manifest.operations) {
    assert.equal(createHash("sha256").update(op.body).digest("hex"), op.id, op.name);
  }
  const parsed = bodies.filter(Boolean).map((b) => JSON.parse(b));
  assert.ok(parsed.length > 0);
  // Over HTTP: the id alone, never a text (no PersistedQueryNotFound round trip either).
  for (const body of parsed) {
    const op = ids.get(body.extensions?.persistedQuery?.sha256Hash);
    assert.ok(op, `not in the manifest: ${JSON.stringify(body)}`);
    assert.equal(body.operationName, op.name);
    assert.equal(body.query, undefined, `${op.name} sent its text`);
  }
  const sent = new Set(parsed.map((b) => b.operationName));
  for (const name of ["Home", "RunPage", "SetItemState"]) assert.ok(sent.has(name), name);
  // Over the WebSocket (subscriptions, updatePresence): texts that are manifest bodies exactly.
  const subscribed = frames.map((f) => JSON.parse(f)).filter((m) => m.type === "subscribe");
  assert.ok(subscribed.length > 0);
  for (const { payload } of subscribed) {
    const op = ids.get(createHash("sha256").update(payload.query).digest("hex"));
    assert.ok(op, `not a manifest body: ${payload.query}`);
    assert.equal(op.name, payload.operationName);
  }
  assert.deepEqual(problems, []);
});
