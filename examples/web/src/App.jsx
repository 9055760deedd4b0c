import { ApolloProvider, useMutation, useQuery } from "@apollo/client/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import { createApollo, errorInfo } from "./apollo.js";
import { completeSignIn, isCallback, loadOidc, pastedToken, startSignIn } from "./auth.js";
import { Notifications } from "./Notifications.jsx";
import { HOME, START_RUN } from "./operations.js";
import { RunPage } from "./RunPage.jsx";

// #/ is the home page, #/runs/<id> a run: links can be shared and the back button works.
function useRoute() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  const match = hash.match(/^#\/runs\/(.+)$/);
  return match ? { runId: decodeURIComponent(match[1]) } : {};
}

// Start-up, once per page load (StrictMode runs effects twice in development, and a sign-in
// code can be redeemed only once): the provider's configuration, then a sign-in to finish
// (back from the provider), one kept in this tab, or a pasted token.
let started = null;
function startUp() {
  started ??= (async () => {
    const oidc = await loadOidc();
    if (oidc && isCallback()) {
      try {
        const user = await completeSignIn(oidc.manager);
        return { oidc, token: user.access_token, via: "oidc" };
      } catch (error) {
        return { oidc, message: `Sign-in did not complete: ${error.message}` };
      }
    }
    const user = oidc ? await oidc.manager.getUser() : null;
    if (user && !user.expired) return { oidc, token: user.access_token, via: "oidc" };
    if (pastedToken.get()) return { oidc, token: pastedToken.get(), via: "token" };
    return { oidc };
  })();
  return started;
}

// Who is signed in: null (nobody), or {id, via: "oidc" | "token"}. The current access token is
// in tokenRef (an OIDC renewal replaces it without a new Apollo Client).
function useSession() {
  const [oidc, setOidc] = useState(undefined); // undefined while the configuration loads
  const [session, setSession] = useState(null);
  const [message, setMessage] = useState("");
  const tokenRef = useRef("");
  const sessions = useRef(0);

  const begin = useCallback((token, via) => {
    tokenRef.current = token;
    sessions.current += 1;
    setSession({ id: sessions.current, via });
  }, []);

  const end = useCallback(
    (why = "") => {
      pastedToken.clear();
      oidc?.manager.removeUser().catch(() => {});
      tokenRef.current = "";
      setSession(null);
      setMessage(why);
      window.location.hash = "";
    },
    [oidc],
  );

  useEffect(() => {
    let cancelled = false;
    startUp().then((found) => {
      if (cancelled) return;
      setOidc(found.oidc);
      if (found.token) begin(found.token, found.via);
      if (found.message) setMessage(found.message);
    });
    return () => {
      cancelled = true;
    };
  }, [begin]);

  // A renewed token is used from the next request (and the socket's next connection); one
  // that runs out unrenewed ends the session.
  useEffect(() => {
    if (!oidc) return undefined;
    const { events } = oidc.manager;
    const loaded = (user) => {
      tokenRef.current = user.access_token;
    };
    const expired = () => end("Your session expired. Sign in again.");
    events.addUserLoaded(loaded);
    events.addAccessTokenExpired(expired);
    return () => {
      events.removeUserLoaded(loaded);
      events.removeAccessTokenExpired(expired);
    };
  }, [oidc, end]);

  const signInWithToken = (token) => {
    pastedToken.set(token);
    setMessage("");
    begin(token, "token");
  };
  const signInWithOidc = () => startSignIn(oidc.manager).catch((error) => setMessage(error.message));
  return { oidc, session, message, tokenRef, signInWithToken, signInWithOidc, signOut: () => end() };
}

export function App() {
  const { oidc, session, message, tokenRef, signInWithToken, signInWithOidc, signOut } = useSession();
  const apollo = useMemo(
    () => (session ? createApollo(() => tokenRef.current) : null),
    [session, tokenRef],
  );
  useEffect(() => () => apollo?.dispose(), [apollo]);

  if (oidc === undefined) {
    return (
      <p role="status" className="signin">
        Signing in…
      </p>
    );
  }
  if (!apollo) {
    return (
      <SignIn
        oidc={oidc}
        message={message}
        onToken={signInWithToken}
        onOidc={signInWithOidc}
      />
    );
  }
  return (
    <ApolloProvider client={apollo.client}>
      <Shell apollo={apollo} onSignOut={signOut} />
    </ApolloProvider>
  );
}

function SignIn({ oidc, message, onToken, onOidc }) {
  const [value, setValue] = useState("");
  const paste = (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <label htmlFor="token">Access token</label>
      <p className="hint" id="token-hint">
        Development: paste one of the demo tokens that <code>python -m graphql_api serve</code>{" "}
        prints.
      </p>
      <textarea
        id="token"
        aria-describedby="token-hint"
        rows={4}
        value={value}
        onChange={(event) => setValue(event.target.value)}
        required
      />
      <button type="submit">Sign in</button>
    </form>
  );
  return (
    <main className="signin">
      <h1>Checklists</h1>
      {message && (
        <p role="alert" className="notice error" data-testid="signin-message">
          {message}
        </p>
      )}
      {oidc ? (
        <>
          <button type="button" className="provider" onClick={onOidc}>
            Sign in with {oidc.providerName}
          </button>
          <details>
            <summary>Developer sign-in with a token</summary>
            {paste}
          </details>
        </>
      ) : (
        paste
      )}
    </main>
  );
}

function Shell({ apollo, onSignOut }) {
  const route = useRoute();
  const { data, error } = useQuery(HOME, { fetchPolicy: "cache-and-network" });
  const me = data?.me;
  return (
    <>
      <header className="topbar">
        <a href="#/" className="brand">
          Checklists
        </a>
        <span className="live" data-testid="connection">
          <ConnectionState wsClient={apollo.wsClient} />
        </span>
        {me && <Notifications initialUnread={me.unreadCount} />}
        {me && (
          <span className="who" data-testid="signed-in-as">
            {me.name || me.userId}
          </span>
        )}
        <button type="button" className="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {error && !me && (
          <p role="alert" className="notice error">
            {errorInfo(error).code === "UNAUTHENTICATED"
              ? "The API refused this sign-in. Sign out and sign in again."
              : errorInfo(error).message}
          </p>
        )}
        {route.runId ? (
          <RunPage key={route.runId} runId={route.runId} apollo={apollo} me={me} />
        ) : (
          me && <Home me={me} />
        )}
      </main>
    </>
  );
}

function ConnectionState({ wsClient }) {
  const [state, setState] = useState("connecting");
  useEffect(() => {
    const offs = [
      wsClient.on("connected", () => setState("live")),
      wsClient.on("closed", () => setState("reconnecting")),
    ];
    return () => offs.forEach((off) => off());
  }, [wsClient]);
  return (
    <span role="status" className={`dot ${state}`}>
      {state}
    </span>
  );
}

function Home({ me }) {
  const [startRun, { loading }] = useMutation(START_RUN);
  const [problem, setProblem] = useState("");
  const open = async (assignment) => {
    setProblem("");
    if (assignment.run) {
      window.location.hash = `#/runs/${encodeURIComponent(assignment.run.id)}`;
      return;
    }
    try {
      const { data } = await startRun({ variables: { assignmentId: assignment.id } });
      window.location.hash = `#/runs/${encodeURIComponent(data.startRun.id)}`;
    } catch (error) {
      setProblem(errorInfo(error).message);
    }
  };
  const assignments = me.assignments.nodes;
  const orgRuns = me.memberships.flatMap((m) =>
    m.organization.runs.nodes.map((run) => ({ ...run, orgName: m.organization.name })),
  );
  return (
    <>
      <section aria-labelledby="my-assignments">
        <h1 id="my-assignments">My assignments</h1>
        {problem && (
          <p role="alert" className="notice error">
            {problem}
          </p>
        )}
        {assignments.length === 0 ? (
          <p>Nothing assigned to you.</p>
        ) : (
          <ul className="cards">
            {assignments.map((a) => (
              <li key={a.id} className="card">
                <div>
                  <strong>{a.checklist?.title ?? "Checklist"}</strong>
                  <span className={`badge ${a.priority.toLowerCase()}`}>{a.priority}</span>
                  <div className="muted">
                    {a.status} · due {new Date(a.dueAt).toLocaleString()}
                    {a.notes ? ` · ${a.notes}` : ""}
                  </div>
                </div>
                <button type="button" disabled={loading} onClick={() => open(a)}>
                  {a.run ? `Open run (${a.run.progress.percent}%)` : "Start run"}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="org-runs">
        <h2 id="org-runs">Runs in my organizations</h2>
        {orgRuns.length === 0 ? (
          <p>No runs yet.</p>
        ) : (
          <ul className="cards">
            {orgRuns.map((run) => (
              <li key={run.id} className="card">
                <div>
                  <strong>{run.checklist?.title ?? "Run"}</strong>
                  <div className="muted">
                    {run.orgName} · {run.status} · {run.progress.percent}%
                  </div>
                </div>
                <a className="button" href={`#/runs/${encodeURIComponent(run.id)}`}>
                  Open
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
