// One Apollo Client per sign-in: queries and mutations over HTTP as persisted queries,
// subscriptions and presence updates over one graphql-ws socket. `getToken` gives the current
// access token (an OIDC sign-in renews it): each HTTP request sends it as a Bearer header, and
// each (re)connection of the socket in connection_init.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { generatePersistedQueryIdsFromManifest } from "@apollo/persisted-query-lists";
import { createClient } from "graphql-ws";
import manifest from "virtual:persisted-query-manifest";

const endpoint = new URL("/graphql", window.location.origin);

async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// The production build sends only ids from its persisted-query manifest (generated from
// src/operations.js by `npm run build`): the server knows them from the same manifest, and with
// REQUIRE_SAFELIST=true runs nothing else. `npm run dev` has no manifest and uses automatic
// persisted queries (SHA-256 of whatever document is sent, from the Web Crypto API; none over
// plain http on another host than localhost).
function persistedQueries() {
  if (manifest) {
    return new PersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }));
  }
  return crypto?.subtle ? new PersistedQueryLink({ sha256 }) : null;
}

// Presence belongs to the WebSocket connection it is sent over (one entry per connection), so
// updatePresence must travel on the same socket as the presence subscription.
const OVER_WEBSOCKET = new Set(["UpdatePresence"]);

export function createApollo(getToken) {
  const bearer = () => `Bearer ${getToken()}`;
  const wsClient = createClient({
    url: endpoint.href.replace(/^http/, "ws"),
    connectionParams: () => ({ authorization: bearer() }),
    lazy: false,
    // Reconnect forever, quickly: a run page must come back as soon as the network does.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** retries, 2000))),
  });
  // The browser knows before the socket does: drop it at once when the network goes away, so
  // subscriptions resume (and replay what was missed) from a fresh connection.
  const offline = () => wsClient.terminate();
  window.addEventListener("offline", offline);

  const auth = new ApolloLink((operation, forward) => {
    operation.setContext(({ headers }) => ({ headers: { ...headers, authorization: bearer() } }));
    return forward(operation);
  });
  const http = auth.concat(new HttpLink({ uri: endpoint.href }));
  const persisted = persistedQueries();
  const httpPersisted = persisted ? persisted.concat(http) : http;
  const link = ApolloLink.split(
    ({ query, operationName }) => {
      const definition = getMainDefinition(query);
      return (
        (definition.kind === "OperationDefinition" && definition.operation === "subscription") ||
        OVER_WEBSOCKET.has(operationName)
      );
    },
    new GraphQLWsLink(wsClient),
    httpPersisted,
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const dispose = () => {
    window.removeEventListener("offline", offline);
    client.stop();
    wsClient.dispose();
  };
  return { client, wsClient, dispose };
}

// The first error code of a failed operation (CONFLICT, NOT_FOUND, ...), and its extensions.
export function errorInfo(error) {
  const first = error?.errors?.[0];
  return { code: first?.extensions?.code, extensions: first?.extensions ?? {}, message: first?.message ?? error?.message };
}
