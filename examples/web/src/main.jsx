import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App.jsx";
import { completeSilentRenewal, isCallback } from "./auth.js";
import "./styles.css";

if (window.parent !== window && isCallback()) {
  // The provider's answer to a silent renewal, in its hidden iframe: no app here.
  completeSilentRenewal();
} else {
  createRoot(document.getElementById("root")).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
