// The unread badge and the list: live from notificationReceived, read with markNotificationsRead.
import { useApolloClient } from "@apollo/client/react";
import { useEffect, useRef, useState } from "react";

import { errorInfo } from "./apollo.js";
import { MARK_NOTIFICATIONS_READ, NOTIFICATION_RECEIVED, NOTIFICATIONS } from "./operations.js";

export function Notifications({ initialUnread }) {
  const client = useApolloClient();
  const [unread, setUnread] = useState(initialUnread);
  const [items, setItems] = useState([]);
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState("");
  const seen = useRef(new Set());
  const panelRef = useRef(null);

  useEffect(() => {
    client
      .query({ query: NOTIFICATIONS, fetchPolicy: "network-only" })
      .then(({ data }) => {
        if (!data?.me) return;
        setUnread(data.me.unreadCount);
        const nodes = data.me.notifications.nodes;
        nodes.forEach((n) => seen.current.add(n.id));
        setItems((list) => [...list, ...nodes.filter((n) => !list.some((l) => l.id === n.id))]);
      })
      .catch(() => {});
    const subscription = client.subscribe({ query: NOTIFICATION_RECEIVED }).subscribe({
      next: ({ data }) => {
        const n = data?.notificationReceived;
        // Every open connection of ours gets it once; the same id twice is the same news.
        if (!n || seen.current.has(n.id)) return;
        seen.current.add(n.id);
        setItems((list) => [n, ...list]);
        if (!n.read) setUnread((count) => count + 1);
      },
      error: () => {},
    });
    return () => subscription.unsubscribe();
  }, [client]);

  const markRead = async () => {
    setProblem("");
    try {
      const { data } = await client.mutate({ mutation: MARK_NOTIFICATIONS_READ });
      setUnread(data?.markNotificationsRead?.unreadCount ?? 0);
      setItems((list) => list.map((n) => ({ ...n, read: true })));
    } catch (error) {
      setProblem(`Could not mark them read: ${errorInfo(error).message}`);
    }
  };

  return (
    <div className="notifications">
      <button
        type="button"
        aria-expanded={open}
        aria-controls="notification-panel"
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(event) => event.key === "Escape" && setOpen(false)}
      >
        Notifications
        {unread > 0 && (
          <span className="count" data-testid="unread-count" aria-label={`${unread} unread`}>
            {unread}
          </span>
        )}
      </button>
      {open && (
        <div
          id="notification-panel"
          className="panel"
          role="region"
          aria-label="Notifications"
          ref={panelRef}
          onKeyDown={(event) => event.key === "Escape" && setOpen(false)}
        >
          {items.length === 0 ? (
            <p className="muted">No notifications.</p>
          ) : (
            <ul>
              {items.map((n) => (
                <li key={n.id} className={n.read ? "" : "unread"}>
                  <strong>{n.title}</strong>
                  <div>{n.body}</div>
                  <div className="muted">{new Date(n.createdAt).toLocaleString()}</div>
                </li>
              ))}
            </ul>
          )}
          {problem && (
            <p role="alert" className="notice error">
              {problem}
            </p>
          )}
          <button type="button" onClick={markRead} disabled={unread === 0}>
            Mark all read
          </button>
        </div>
      )}
    </div>
  );
}
