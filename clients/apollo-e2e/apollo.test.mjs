// Apollo Client 4 against the real API, as the web app and partners use it.
// Run by tests/e2e/test_apollo.py, which starts `python -m graphql_api serve` and passes:
//   GRAPHQL_URL (http://host:port/graphql), OWNER_TOKEN (a demo token), ORG_ID (demo org).
// Checks, with node:test: a query, a mutation, a subscription receiving a live update over
// graphql-ws, APQ's miss-then-hit round trip, and a generated persisted-query manifest
// registered through the API and then used with an API key through the persisted-query-list
// link. Run `npm run generate-manifest` first (documents/*.graphql -> the manifest).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { generatePersistedQueryIdsFromManifest } from "@apollo/persisted-query-lists";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = required("GRAPHQL_URL");
const ownerToken = required("OWNER_TOKEN");
const orgId = required("ORG_ID");
const wsUrl = url.replace(/^http/, "ws");
const metricsUrl = new URL("/metrics", url).href;
const manifest = JSON.parse(readFileSync(new URL("./persisted-query-manifest.json", import.meta.url)));

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

// Every HTTP request the links send, to see what travelled (hash only, or hash and text).
function recordingFetch(log) {
  return async (input, init) => {
    log.push(JSON.parse(init.body));
    return fetch(input, init);
  };
}

async function metric(kind, outcome) {
  const text = await (await fetch(metricsUrl)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`persisted_queries_total{kind="${kind}",outcome="${outcome}"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

let requests;
let wsClient;
let client;

before(() => {
  requests = [];
  wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ownerToken}` },
  });
  const http = new PersistedQueryLink({ sha256 }).concat(
    new HttpLink({
      uri: url,
      headers: { authorization: `Bearer ${ownerToken}` },
      fetch: recordingFetch(requests),
    }),
  );
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    http,
  );
  client = new ApolloClient({ link, cache: new InMemoryCache() });
});

after(async () => {
  client.stop();
  await wsClient.dispose();
});

test("a query", async () => {
  const { data } = await client.query({
    query: gql`query Viewer { me { userId email } }`,
    fetchPolicy: "network-only",
  });
  assert.equal(data.me.userId, "demo-owner");
  assert.equal(data.me.email, "owner@demo.example");
});

test("APQ: a miss, the text once, then hits by hash alone", async () => {
  const nonce = `n${Date.now()}`;
  const query = gql`query ApqRoundTrip { organization(id: "${orgId}") { id name ${nonce}: slug } }`;
  const [miss0, registered0, hit0] = [
    await metric("apq", "miss"),
    await metric("apq", "registered"),
    await metric("apq", "hit"),
  ];
  requests.length = 0;
  const first = await client.query({ query, fetchPolicy: "network-only" });
  const second = await client.query({ query, fetchPolicy: "network-only" });
  assert.equal(first.data.organization.name, "Acme Operations");
  assert.deepEqual(second.data, first.data);
  // 1: hash only -> PersistedQueryNotFound; 2: hash and text; 3: hash only -> hit.
  assert.equal(requests.length, 3);
  assert.equal(requests[0].query, undefined);
  assert.equal(typeof requests[1].query, "string");
  assert.equal(requests[2].query, undefined);
  const hash = sha256(requests[1].query);
  for (const r of requests) assert.equal(r.extensions.persistedQuery.sha256Hash, hash);
  assert.equal((await metric("apq", "miss")) - miss0, 1);
  assert.equal((await metric("apq", "registered")) - registered0, 1);
  assert.equal((await metric("apq", "hit")) - hit0, 1);
});

let run;

test("mutations: a published checklist, an assignment, a started run", async () => {
  const members = await client.query({
    query: gql`query Members($id: ID!) { organization(id: $id) { members { nodes { id userId } } } }`,
    variables: { id: orgId },
  });
  const owner = members.data.organization.members.nodes.find((m) => m.userId === "demo-owner");
  const created = await client.mutate({
    mutation: gql`mutation NewChecklist($input: CreateChecklistInput!) {
      createChecklist(input: $input) { id status items { itemId title } }
    }`,
    variables: {
      input: {
        orgId,
        title: "Forklift pre-shift check",
        items: [{ title: "Brakes tested", kind: "CHECK" }, { title: "Horn works", kind: "CHECK" }],
      },
    },
  });
  const checklist = created.data.createChecklist;
  assert.equal(checklist.items.length, 2);
  const published = await client.mutate({
    mutation: gql`mutation Publish($id: ID!) { publishChecklist(id: $id) { id status } }`,
    variables: { id: checklist.id },
  });
  assert.equal(published.data.publishChecklist.status, "PUBLISHED");
  const assigned = await client.mutate({
    mutation: gql`mutation Assign($input: CreateAssignmentInput!) {
      createAssignment(input: $input) { id }
    }`,
    variables: {
      input: {
        checklistId: checklist.id,
        assigneeIds: [owner.id],
        dueAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    },
  });
  const started = await client.mutate({
    mutation: gql`mutation Start($id: ID!) { startRun(assignmentId: $id) { id version status } }`,
    variables: { id: assigned.data.createAssignment.id },
  });
  run = { ...started.data.startRun, itemId: checklist.items[0].itemId };
  assert.equal(run.status, "IN_PROGRESS");
});

test("a subscription receives a live update (runUpdated over graphql-ws)", async () => {
  assert.ok(run, "the mutation test started a run");
  const updates = [];
  let wake = () => {};
  const subscription = client
    .subscribe({
      query: gql`subscription Live($runId: ID!) {
        runUpdated(runId: $runId) {
          runId version snapshot { id } event { type itemId } progress { done total }
        }
      }`,
      variables: { runId: run.id },
    })
    .subscribe({
      next: (result) => {
        updates.push(result);
        wake();
      },
      error: (error) => {
        updates.push({ error: String(error) });
        wake();
      },
    });
  const waitFor = async (find, what) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = updates.find(find);
      if (found) return found;
      if (updates.some((u) => u.error) || Date.now() > deadline) {
        throw new Error(`no ${what}: ${JSON.stringify(updates)}`);
      }
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 250);
      });
    }
  };
  try {
    // Without afterVersion the server first sends a snapshot: the subscription is live.
    const first = await waitFor((u) => u.data?.runUpdated?.snapshot, "snapshot");
    const before = first.data.runUpdated.version;
    await client.mutate({
      mutation: gql`mutation Tick($runId: ID!, $itemId: String!) {
        setItemState(runId: $runId, itemId: $itemId, input: { done: true }) { run { id version } }
      }`,
      variables: { runId: run.id, itemId: run.itemId },
    });
    const live = await waitFor(
      (u) => u.data?.runUpdated?.event?.itemId === run.itemId,
      "live update",
    );
    const update = live.data.runUpdated;
    assert.equal(update.runId, run.id);
    assert.ok(update.version > before);
    assert.equal(update.progress.done, 1);
    assert.equal(update.progress.total, 2);
  } finally {
    subscription.unsubscribe();
  }
});

test("a generated manifest, registered, then used with an API key through the PQL link", async () => {
  const registered = await client.mutate({
    mutation: gql`mutation Register($orgId: ID!, $manifest: JSON!) {
      registerPersistedQueryManifest(orgId: $orgId, clientName: "apollo-e2e", manifest: $manifest) {
        clientName operationCount version
      }
    }`,
    variables: { orgId, manifest },
  });
  assert.equal(registered.data.registerPersistedQueryManifest.operationCount, manifest.operations.length);
  const key = await client.mutate({
    mutation: gql`mutation Key($input: CreateApiKeyInput!) {
      createApiKey(input: $input) { secret apiKey { id role manifest } }
    }`,
    variables: { input: { orgId, name: "Apollo e2e partner", role: "MANAGER", manifest: "apollo-e2e" } },
  });
  const { secret } = key.data.createApiKey;
  assert.match(secret, /^gqa_/);

  const partnerRequests = [];
  const partner = new ApolloClient({
    link: new PersistedQueryLink(
      generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }),
    ).concat(
      new HttpLink({
        uri: url,
        headers: { authorization: `ApiKey ${secret}` },
        fetch: recordingFetch(partnerRequests),
      }),
    ),
    cache: new InMemoryCache(),
  });
  try {
    const { data } = await partner.query({
      query: gql`query PartnerOrganization($id: ID!) { organization(id: $id) { id name viewerRole } }`,
      variables: { id: orgId },
    });
    assert.equal(data.organization.name, "Acme Operations");
    assert.equal(data.organization.viewerRole, "MANAGER");
    const team = await partner.mutate({
      mutation: gql`mutation PartnerCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id name } }`,
      variables: { input: { orgId, name: `Partner team ${Date.now()}` } },
    });
    assert.match(team.data.createTeam.name, /^Partner team /);
    // Only ids travelled, never operation texts.
    assert.equal(partnerRequests.length, 2);
    for (const r of partnerRequests) {
      assert.equal(r.query, undefined);
      assert.ok(manifest.operations.some((op) => op.id === r.extensions.persistedQuery.sha256Hash));
    }
    // An operation outside the manifest is refused (the PQL link knows no id for it).
    await assert.rejects(
      partner.query({ query: gql`query NotInManifest { me { userId } }`, fetchPolicy: "network-only" }),
    );
  } finally {
    partner.stop();
  }
  // The key itself runs nothing but its manifest, whatever the client sends.
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `ApiKey ${secret}` },
    body: JSON.stringify({ query: "{ me { userId } }" }),
  });
  const body = await response.json();
  assert.equal(body.errors[0].extensions.code, "PERSISTED_QUERY_NOT_ALLOWED");
});
