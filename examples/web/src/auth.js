// Sign-in: an OIDC provider by redirect (authorization code + PKCE, oidc-client-ts) when one is
// configured, else (and always, for development) a pasted access token.
//
// The provider comes from `config.json` beside index.html (read at start-up, so one build
// serves every environment), else from the build's VITE_OIDC_AUTHORITY, VITE_OIDC_CLIENT_ID,
// VITE_OIDC_SCOPE and VITE_OIDC_PROVIDER_NAME:
//   {"oidc": {"authority": "https://login.example.com/realms/acme", "clientId": "checklists-web",
//             "scope": "openid profile email offline_access", "providerName": "Acme SSO"}}
// The provider's access token must be one the API accepts (JWT_ISSUER, JWT_AUDIENCE or
// JWT_COGNITO_CLIENT_ID, keys from JWT_JWKS_URL); `extraQueryParams` (e.g. {"audience": ...})
// is passed to the authorize request for providers that need it.
const BASE = new URL(import.meta.env.BASE_URL, window.location.origin).href;
const PASTED_TOKEN = "checklists.token";

async function fromConfigFile() {
  try {
    const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
    if (!response.ok) return null;
    const config = await response.json();
    return config?.oidc ?? null;
  } catch {
    return null; // no file (or not JSON): not configured there
  }
}

function fromBuild() {
  const env = import.meta.env;
  if (!env.VITE_OIDC_AUTHORITY) return null;
  return {
    authority: env.VITE_OIDC_AUTHORITY,
    clientId: env.VITE_OIDC_CLIENT_ID,
    scope: env.VITE_OIDC_SCOPE,
    providerName: env.VITE_OIDC_PROVIDER_NAME,
  };
}

// The configured provider, or null.
export async function loadOidc() {
  const oidc = (await fromConfigFile()) ?? fromBuild();
  if (!oidc?.authority || !oidc?.clientId) return null;
  // Loaded only when a provider is configured.
  const { UserManager, WebStorageStateStore } = await import("oidc-client-ts");
  const manager = new UserManager({
    authority: oidc.authority,
    client_id: oidc.clientId,
    scope: oidc.scope || "openid profile email",
    response_type: "code", // with PKCE (S256), the library's default for code
    redirect_uri: BASE,
    silent_redirect_uri: BASE,
    post_logout_redirect_uri: BASE,
    extraQueryParams: oidc.extraQueryParams,
    // Tokens and the in-flight sign-in state live in this tab's sessionStorage only.
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    // A minute before the access token expires: the refresh token if the provider gave one,
    // else a hidden iframe with prompt=none. A failed renewal lets the token run out, and the
    // app signs out then.
    automaticSilentRenew: true,
  });
  return { manager, providerName: oidc.providerName || new URL(oidc.authority).host };
}

// Is this page load the provider sending the browser back (?code=...&state=... or ?error=...)?
export function isCallback() {
  const params = new URLSearchParams(window.location.search);
  return params.has("state") && (params.has("code") || params.has("error"));
}

// Back at the app: finish the sign-in (the code for tokens, with the PKCE verifier). Returns
// the user, or throws with the provider's or the library's reason. The URL loses the code and
// gets back the route the sign-in started from.
export async function completeSignIn(manager) {
  let user = null;
  try {
    user = await manager.signinRedirectCallback();
    return user;
  } finally {
    const route = typeof user?.state === "string" && user.state.startsWith("#/") ? user.state : "";
    window.history.replaceState(null, "", `${BASE}${route}`);
  }
}

export const startSignIn = (manager) => manager.signinRedirect({ state: window.location.hash });

// In the hidden iframe of a silent renewal (no refresh token): hand the answer to the app.
export async function completeSilentRenewal() {
  const oidc = await loadOidc();
  await oidc?.manager.signinSilentCallback();
}

export const pastedToken = {
  get: () => sessionStorage.getItem(PASTED_TOKEN) || "",
  set: (token) => sessionStorage.setItem(PASTED_TOKEN, token),
  clear: () => sessionStorage.removeItem(PASTED_TOKEN),
};
