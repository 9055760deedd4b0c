import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const MANIFEST = "persisted-query-manifest.json";
const VIRTUAL = "virtual:persisted-query-manifest";

// The production build sends persisted-query ids from the manifest that `npm run build`
// generates first (generate-persisted-query-manifest, from src/). The bundle gets the ids by
// operation name (`import manifest from "virtual:persisted-query-manifest"`); the whole manifest
// goes to dist/, where `serve --web` takes it as the API's first-party safelist. In `npm run
// dev` the module is null and the app falls back to automatic persisted queries.
function persistedQueryManifest() {
  let building = false;
  let text = null;
  return {
    name: "persisted-query-manifest",
    configResolved(config) {
      building = config.command === "build";
    },
    resolveId(id) {
      return id === VIRTUAL ? `\0${VIRTUAL}` : null;
    },
    load(id) {
      if (id !== `\0${VIRTUAL}`) return null;
      if (!building) return "export default null;";
      let made;
      try {
        made = statSync(MANIFEST).mtimeMs;
      } catch {
        this.error(`${MANIFEST} is missing: build with \`npm run build\` (it generates it first)`);
      }
      // A stale manifest would name old operation texts under the ids the bundle sends.
      const sources = readdirSync("src", { recursive: true }).map((f) => join("src", f));
      if (sources.some((f) => statSync(f).mtimeMs > made)) {
        this.error(`${MANIFEST} is older than src/: build with \`npm run build\``);
      }
      text = readFileSync(MANIFEST, "utf8");
      const { operations } = JSON.parse(text);
      const ids = operations.map(({ id, name, type }) => ({ id, name, type }));
      return `export default ${JSON.stringify({ operations: ids })};`;
    },
    generateBundle() {
      if (text !== null) this.emitFile({ type: "asset", fileName: MANIFEST, source: text });
    },
  };
}

// Served by the API under /app/ (`python -m graphql_api serve --web`), so the GraphQL endpoint
// is same-origin. In `npm run dev`, Vite proxies /graphql (HTTP and WebSocket) to the API.
export default defineConfig({
  base: "/app/",
  plugins: [react(), persistedQueryManifest()],
  server: {
    proxy: {
      "/graphql": { target: process.env.API_URL || "http://127.0.0.1:8000", ws: true },
    },
  },
  // A one-page app in one chunk (oidc-client-ts apart: loaded only when a provider is
  // configured); @apollo/persisted-query-lists (CommonJS) brings all of graphql-js along, which
  // takes it past Vite's 500 kB default warning.
  build: { sourcemap: false, chunkSizeWarningLimit: 700 },
});
