import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the API under /app/ (`python -m graphql_api serve --web`), so the GraphQL endpoint
// is same-origin. In `npm run dev`, Vite proxies /graphql (HTTP and WebSocket) to the API.
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  server: {
    proxy: {
      "/graphql": { target: process.env.API_URL || "http://127.0.0.1:8000", ws: true },
    },
  },
  build: { sourcemap: false },
});
