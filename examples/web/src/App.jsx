import { ApolloProvider, useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useMemo, useState } from "react";

import { createApollo, errorInfo } from "./apollo.js";
import { Notifications } from "./Notifications.jsx";
import { HOME, START_RUN } from "./operations.js";
import { RunPage } from "./RunPage.jsx";

const TOKEN_KEY = "checklists.token";

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

export function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) || "");
  const apollo = useMemo(() => (token ? createApollo(token) : null), [token]);
  useEffect(() => () => apollo?.dispose(), [apollo]);

  const signIn = (value) => {
    sessionStorage.setItem(TOKEN_KEY, value);
    setToken(value);
  };
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken("");
    window.location.hash = "";
  };
  if (!apollo) return <SignIn onSignIn={signIn} />;
  return (
    <ApolloProvider client={apollo.client}>
      <Shell apollo={apollo} onSignOut={signOut} />
    </ApolloProvider>
  );
}

function SignIn({ onSignIn }) {
  const [value, setValue] = useState("");
  return (
    <main className="signin">
      <h1>Checklists</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) onSignIn(value.trim());
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
              ? "That token was refused. Sign out and paste another one."
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
