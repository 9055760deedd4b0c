// Copies GraphiQL's pinned browser bundles (UMD builds from the npm packages in
// package-lock.json) and our page script/styles into dist/, which the API serves under
// /graphiql/assets/. Run after `npm ci`: `npm run build` (scripts/bootstrap does both).
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");

// Served name -> source, in the order the page loads them.
const files = {
  "react.production.min.js": "node_modules/react/umd/react.production.min.js",
  "react-dom.production.min.js": "node_modules/react-dom/umd/react-dom.production.min.js",
  "graphql-ws.min.js": "node_modules/graphql-ws/umd/graphql-ws.min.js",
  "graphiql.min.js": "node_modules/graphiql/graphiql.min.js",
  "graphiql.min.css": "node_modules/graphiql/graphiql.min.css",
  "graphiql-page.css": "src/graphiql-page.css",
  "graphiql-init.js": "src/graphiql-init.js",
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(here, source), join(dist, name));
}
const versions = {};
for (const pkg of ["graphiql", "react", "react-dom", "graphql-ws", "graphql", "@graphiql/toolkit"]) {
  versions[pkg] = JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"))).version;
}
writeFileSync(join(dist, "assets.json"), JSON.stringify({ files: Object.keys(files), versions }, null, 2));
console.log(`GraphiQL assets built in ${dist}: ${Object.keys(files).length} files`);
