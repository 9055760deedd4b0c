// A run, live: items answered with optimistic UI and per-item versions, other people's changes
// from runUpdated (replayed from the last applied version after any reconnect, applied once
// by version), presence with focused items, a visible notice when an edit conflicts, and
// photos uploaded to PHOTO items (Photos.jsx).
import { useApolloClient } from "@apollo/client/react";
import { useCallback, useEffect, useRef, useState } from "react";

import { errorInfo } from "./apollo.js";
import { PhotoItem } from "./Photos.jsx";
import { PRESENCE, RUN_PAGE, RUN_UPDATED, SET_ITEM_STATE, UPDATE_PRESENCE } from "./operations.js";

const stateOf = (item) => ({
  done: item.done,
  value: item.value ?? null,
  version: item.version,
  updatedBy: item.updatedBy ?? null,
});

// Events that carry an item's new answer in `after` ({done, value, version}).
const ITEM_EVENTS = new Set(["ITEM_SET", "FILE_ATTACHED", "FILE_DETACHED"]);

// The organizations to try for this run, the one whose run list shows it first.
function orgIdsFor(me, runId) {
  const orgs = (me?.memberships ?? []).map((m) => m.organization);
  const knows = (org) => org.runs.nodes.some((r) => r.id === runId);
  return [...orgs.filter(knows), ...orgs.filter((org) => !knows(org))].map((org) => org.id);
}

// Keeps the newest answer per item: a mutation's response and the same change's event may
// arrive in either order, and an older one must never overwrite a newer one.
function merge(states, itemId, next) {
  const current = states[itemId];
  if (current && current.version >= next.version) return states;
  return { ...states, [itemId]: next };
}

export function RunPage({ runId, apollo, me }) {
  const client = useApolloClient();
  const { wsClient } = apollo;
  const [run, setRun] = useState(null);
  const [loadError, setLoadError] = useState("");
  const [states, setStates] = useState({});
  const [pending, setPending] = useState({});
  const [events, setEvents] = useState([]);
  const [presence, setPresence] = useState({});
  const [notice, setNotice] = useState(null);
  const [live, setLive] = useState(false);
  const versionRef = useRef(null);
  const focusRef = useRef(null);
  const names = useRef(new Map());

  const nameOf = useCallback(
    (userId) => (userId === me?.userId ? "You" : names.current.get(userId) || userId || "someone"),
    [me],
  );

  // Load the run once; live updates continue from its version.
  useEffect(() => {
    let cancelled = false;
    client
      .query({ query: RUN_PAGE, variables: { id: runId }, fetchPolicy: "network-only" })
      .then(({ data, error }) => {
        if (cancelled) return;
        if (!data?.run) {
          setLoadError(errorInfo(error).message || "This run could not be loaded.");
          return;
        }
        const r = data.run;
        for (const a of r.assignment?.assignees ?? []) names.current.set(a.userId, a.name);
        versionRef.current = r.version;
        setStates(Object.fromEntries(r.items.map((item) => [item.itemId, stateOf(item)])));
        setRun(r);
      })
      .catch((error) => !cancelled && setLoadError(errorInfo(error).message));
    return () => {
      cancelled = true;
    };
  }, [client, runId]);

  const apply = useCallback((update) => {
    // Replays overlap what was already applied after a reconnect: the version says which.
    if (update.version <= versionRef.current) return;
    versionRef.current = update.version;
    const event = update.event;
    setRun((r) => ({ ...r, version: update.version, progress: update.progress }));
    if (!event) return;
    if (ITEM_EVENTS.has(event.type) && event.itemId && typeof event.after?.version === "number") {
      setStates((s) =>
        merge(s, event.itemId, {
          done: Boolean(event.after.done),
          value: event.after.value ?? null,
          version: event.after.version,
          updatedBy: event.actorId,
        }),
      );
    } else if (event.type === "SUBMITTED" || event.type === "REOPENED") {
      setRun((r) => ({ ...r, status: event.type === "SUBMITTED" ? "SUBMITTED" : "IN_PROGRESS" }));
    }
    setEvents((list) => [...list, { ...event, version: update.version }]);
  }, []);

  // runUpdated from the last applied version; after the socket drops, a new subscription
  // from the version reached so far (the server replays the gap from storage).
  const loaded = run !== null;
  useEffect(() => {
    if (!loaded) return undefined;
    let subscription = null;
    const start = () => {
      subscription?.unsubscribe();
      subscription = client
        .subscribe({ query: RUN_UPDATED, variables: { runId, afterVersion: versionRef.current } })
        .subscribe({
          next: ({ data, error }) => {
            if (data?.runUpdated) apply(data.runUpdated);
            if (error) setNotice({ kind: "error", text: errorInfo(error).message });
          },
          error: (error) => setNotice({ kind: "error", text: errorInfo(error).message }),
        });
      setLive(true);
    };
    start();
    const offClosed = wsClient.on("closed", () => {
      subscription?.unsubscribe();
      subscription = null;
      setLive(false);
    });
    const offConnected = wsClient.on("connected", () => {
      if (!subscription) start();
    });
    return () => {
      offClosed();
      offConnected();
      subscription?.unsubscribe();
    };
  }, [loaded, client, wsClient, runId, apply]);

  // Who is here: a snapshot first (again after any reconnect), then joins, updates, leaves.
  useEffect(() => {
    const subscription = client
      .subscribe({ query: PRESENCE, variables: { entityId: runId } })
      .subscribe({
        next: ({ data }) => {
          const event = data?.presence;
          if (!event) return;
          const remember = (e) => e.name && names.current.set(e.userId, e.name);
          if (event.kind === "SNAPSHOT") {
            (event.entries ?? []).forEach(remember);
            setPresence(Object.fromEntries((event.entries ?? []).map((e) => [e.connectionId, e])));
          } else if (event.entry && event.kind === "LEAVE") {
            setPresence((p) => {
              const { [event.entry.connectionId]: _gone, ...rest } = p;
              return rest;
            });
          } else if (event.entry) {
            remember(event.entry);
            setPresence((p) => ({ ...p, [event.entry.connectionId]: event.entry }));
          }
        },
        error: () => {},
      });
    // A new connection is a new presence entry: tell it where we are again.
    const offConnected = wsClient.on("connected", (_socket, _payload, wasRetry) => {
      if (wasRetry && focusRef.current) sendFocus(focusRef.current);
    });
    return () => {
      offConnected();
      subscription.unsubscribe();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, wsClient, runId]);

  const sendFocus = (itemId) =>
    client
      .mutate({
        mutation: UPDATE_PRESENCE,
        variables: { input: { entityId: runId, focusedItemId: itemId, status: "ACTIVE" } },
      })
      .catch(() => {});

  const focus = (itemId) => {
    if (focusRef.current === itemId) return;
    focusRef.current = itemId;
    sendFocus(itemId);
  };

  const setItem = async (item, input, expectedVersion) => {
    const itemId = item.itemId;
    setPending((p) => ({ ...p, [itemId]: input }));
    try {
      const { data } = await client.mutate({
        mutation: SET_ITEM_STATE,
        variables: { runId, itemId, input: { ...input, expectedVersion } },
      });
      setStates((s) => merge(s, itemId, stateOf(data.setItemState.item)));
    } catch (error) {
      const { code, extensions, message } = errorInfo(error);
      if (code === "CONFLICT" && extensions.current) {
        const current = extensions.current;
        // The other person's answer wins: show it, and say so.
        setStates((s) =>
          merge(s, itemId, {
            done: Boolean(current.done),
            value: current.value ?? null,
            version: current.version,
            updatedBy: current.updatedBy ?? null,
          }),
        );
        setNotice({
          kind: "conflict",
          text: `“${item.title}” was changed by ${nameOf(current.updatedBy)} while you were editing. Their answer was kept; yours was not saved.`,
        });
      } else {
        setNotice({ kind: "error", text: message || "The change was not saved." });
      }
    } finally {
      setPending((p) => {
        const { [itemId]: _done, ...rest } = p;
        return rest;
      });
    }
  };

  if (loadError) {
    return (
      <p role="alert" className="notice error">
        {loadError}
      </p>
    );
  }
  if (!run) return <p role="status">Loading run…</p>;

  const people = Object.values(presence);
  const editable = run.status === "IN_PROGRESS";
  return (
    <div className="run">
      <section className="run-main" aria-labelledby="run-title">
        <h1 id="run-title">{run.checklist?.title ?? "Run"}</h1>
        {run.assignment?.notes && <p className="muted">{run.assignment.notes}</p>}
        <div className="progress" data-testid="progress">
          <progress max={run.progress.total} value={run.progress.done} aria-label="Progress" />
          <span>
            {run.progress.done}/{run.progress.total} done · {run.status === "SUBMITTED" ? "submitted" : "in progress"} ·
            version <span data-testid="run-version">{run.version}</span>
            {!live && " · reconnecting…"}
          </span>
        </div>
        {notice && (
          <div
            role="alert"
            className={`notice ${notice.kind}`}
            data-testid={notice.kind === "conflict" ? "conflict-notice" : "error-notice"}
          >
            <span>{notice.text}</span>
            <button type="button" className="link" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </div>
        )}
        <ul className="items" aria-label="Items">
          {run.items.map((item) => (
            <ItemRow
              key={item.itemId}
              item={item}
              state={states[item.itemId]}
              pending={pending[item.itemId]}
              editable={editable}
              onFocus={() => focus(item.itemId)}
              onSet={(input, expectedVersion) => setItem(item, input, expectedVersion)}
              orgIds={orgIdsFor(me, runId)}
              runId={runId}
              nameOf={nameOf}
              others={people.filter(
                (p) => p.focusedItemId === item.itemId && p.userId !== me?.userId,
              )}
            />
          ))}
        </ul>
      </section>
      <aside className="run-side">
        <section aria-labelledby="presence-title">
          <h2 id="presence-title">On this run</h2>
          <ul className="presence" data-testid="presence">
            {people.map((p) => (
              <li key={p.connectionId} data-user={p.userId}>
                <span className={`dot ${p.status.toLowerCase()}`} aria-hidden="true" />
                {p.name || p.userId}
                {p.userId === me?.userId && " (you)"}
                {p.focusedItemId && (
                  <span className="muted">
                    {" "}
                    on {run.items.find((i) => i.itemId === p.focusedItemId)?.title ?? p.focusedItemId}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </section>
        <section aria-labelledby="activity-title">
          <h2 id="activity-title">Activity</h2>
          <ol className="events" data-testid="event-log" aria-live="polite">
            {events.map((e) => (
              <li key={e.version} data-version={e.version} data-item={e.itemId ?? ""}>
                <span className="muted">v{e.version}</span> {nameOf(e.actorId)}{" "}
                {describe(e, run.items)}
              </li>
            ))}
          </ol>
        </section>
      </aside>
    </div>
  );
}

function describe(event, items) {
  const title = items.find((i) => i.itemId === event.itemId)?.title ?? event.itemId;
  switch (event.type) {
    case "ITEM_SET": {
      const after = event.after ?? {};
      if (after.value !== undefined && after.value !== null) return `set “${title}” to ${JSON.stringify(after.value)}`;
      return after.done ? `checked “${title}”` : `unchecked “${title}”`;
    }
    case "SUBMITTED":
      return "submitted the run";
    case "REOPENED":
      return "reopened the run";
    case "COMMENT_ADDED":
      return "commented";
    case "FILE_ATTACHED":
      return `attached a file to “${title}”`;
    case "FILE_DETACHED":
      return `removed a file from “${title}”`;
    default:
      return event.type.toLowerCase();
  }
}

const text = (value) => (value === null || value === undefined ? "" : String(value));

function ItemRow({ item, state, pending, editable, onFocus, onSet, nameOf, others, orgIds, runId }) {
  const current = state ?? { done: false, value: null, version: 0 };
  const shown = pending ? { ...current, ...pending } : current;
  // A typed answer is a draft until Enter or leaving the field; it is sent with the version it
  // was based on, so an answer someone else gave meanwhile is never silently overwritten.
  const [draft, setDraft] = useState(null);
  const inputId = `item-${item.itemId}`;
  const hintId = `${inputId}-hint`;

  const commit = () => {
    if (!draft) return;
    setDraft(null);
    if (draft.text === draft.initial) return;
    let value = draft.text.trim() === "" ? null : draft.text;
    if (item.kind === "NUMBER" && value !== null) value = Number(value);
    onSet({ value, done: value !== null }, draft.baseVersion);
  };
  const startDraft = () =>
    draft ?? { text: text(current.value), initial: text(current.value), baseVersion: current.version };

  const changedMeanwhile = draft && current.version > draft.baseVersion;
  return (
    <li
      className={`item ${shown.done ? "done" : ""} ${pending ? "pending" : ""}`}
      data-item={item.itemId}
      data-version={current.version}
      onFocus={onFocus}
    >
      <div className="item-main">
        {item.kind === "CHECK" ? (
          <>
            <input
              id={inputId}
              type="checkbox"
              checked={shown.done}
              disabled={!editable || Boolean(pending)}
              aria-describedby={hintId}
              onChange={(event) => onSet({ done: event.target.checked }, current.version)}
            />
            <label htmlFor={inputId}>
              {item.title}
              {item.required && <span className="req" aria-label="required"> *</span>}
            </label>
          </>
        ) : (
          <form
            className="answer"
            onSubmit={(event) => {
              event.preventDefault();
              commit();
            }}
          >
            <label htmlFor={inputId}>
              {item.title}
              {item.required && <span className="req" aria-label="required"> *</span>}
            </label>
            {item.kind === "PHOTO" ? (
              <PhotoItem
                item={item}
                inputId={inputId}
                hintId={hintId}
                fileIds={Array.isArray(shown.value) ? shown.value : []}
                editable={editable}
                orgIds={orgIds}
                runId={runId}
              />
            ) : (
              <input
                id={inputId}
                type={item.kind === "NUMBER" ? "number" : "text"}
                min={item.min ?? undefined}
                max={item.max ?? undefined}
                maxLength={item.maxLength ?? undefined}
                disabled={!editable}
                aria-describedby={hintId}
                value={draft ? draft.text : text(shown.value)}
                onFocus={() => setDraft(startDraft())}
                onChange={(event) => setDraft({ ...startDraft(), text: event.target.value })}
                onBlur={commit}
                onKeyDown={(event) => {
                  if (event.key === "Escape") setDraft(null);
                }}
              />
            )}
          </form>
        )}
      </div>
      <div className="item-meta muted" id={hintId}>
        {item.description && <span>{item.description} · </span>}
        {pending ? "saving…" : current.updatedBy ? `by ${nameOf(current.updatedBy)}` : "not answered"}
        {changedMeanwhile && (
          <span className="warn" role="status">
            {" "}
            · changed by {nameOf(current.updatedBy)} while you were typing
          </span>
        )}
        {others.length > 0 && (
          <span className="here"> · {others.map((o) => o.name || o.userId).join(", ")} here</span>
        )}
      </div>
    </li>
  );
}
