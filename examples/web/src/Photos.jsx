// A PHOTO item's files and its upload: createUpload (a presigned POST), the file straight to
// S3 as multipart/form-data (the returned fields first, the file last), then completeUpload,
// which checks the object and attaches it to the item. The item's value (a list of file IDs)
// then changes through the FILE_ATTACHED run event, on every screen on the run.
import { useApolloClient, useQuery } from "@apollo/client/react";
import { useRef, useState } from "react";

import { errorInfo } from "./apollo.js";
import { COMPLETE_UPLOAD, CREATE_UPLOAD, FILE } from "./operations.js";

// A download link is valid for 5 minutes: an older one is fetched again on click.
const LINK_MAX_AGE_MS = 4 * 60 * 1000;

const mb = (bytes) => `${Math.round(bytes / (1024 * 1024))} MB`;

// What went wrong, in words a person can act on.
function explain(file, error) {
  const { code, extensions, message } = errorInfo(error);
  if (code === "LIMIT_EXCEEDED" && typeof extensions.limit === "number") {
    return `“${file.name}” is too large (${mb(file.size)}): files can be at most ${mb(extensions.limit)}.`;
  }
  return `“${file.name}” was not attached: ${(message || "the upload failed").replace(/\.$/, "")}.`;
}

// S3 answers a refused POST with XML: <Error><Code>..</Code><Message>..</Message></Error>.
async function storageError(response) {
  const text = await response.text().catch(() => "");
  const found = text.match(/<Message>([^<]*)<\/Message>/);
  return new Error(found ? found[1] : `storage answered ${response.status}`);
}

async function upload(client, { orgIds, runId, itemId, file }) {
  // Runs carry no organization ID: the run's organization is the one that knows it (any
  // other answers NOT_FOUND, exactly as for a run that does not exist).
  let created = null;
  let refused = null;
  for (const orgId of orgIds) {
    try {
      const { data } = await client.mutate({
        mutation: CREATE_UPLOAD,
        variables: {
          input: {
            orgId,
            target: { kind: "RUN_ITEM", id: runId, itemId },
            filename: file.name,
            contentType: file.type || "application/octet-stream",
            size: file.size,
          },
        },
      });
      created = data.createUpload;
      break;
    } catch (error) {
      if (errorInfo(error).code !== "NOT_FOUND") throw error;
      refused = error;
    }
  }
  if (!created) throw refused ?? new Error("you are in no organization");
  const form = new FormData();
  for (const [name, value] of Object.entries(created.fields)) form.append(name, value);
  form.append("file", file);
  const response = await fetch(created.url, { method: "POST", body: form });
  if (!response.ok) throw await storageError(response);
  const { data } = await client.mutate({
    mutation: COMPLETE_UPLOAD,
    variables: { uploadId: created.upload.id },
  });
  return data.completeUpload;
}

export function PhotoItem({ item, inputId, hintId, fileIds, editable, orgIds, runId }) {
  const client = useApolloClient();
  const [busy, setBusy] = useState("");
  const [problem, setProblem] = useState("");
  const limit = item.maxFiles ?? 20;
  const full = fileIds.length >= limit;

  const choose = async (event) => {
    const input = event.target;
    const file = input.files?.[0];
    if (!file) return;
    setProblem("");
    setBusy(file.name);
    try {
      await upload(client, { orgIds, runId, itemId: item.itemId, file });
    } catch (error) {
      setProblem(explain(file, error));
    } finally {
      setBusy("");
      input.value = "";
    }
  };

  return (
    <div className="photos">
      {fileIds.length > 0 ? (
        <ul className="files" aria-label={`Files of ${item.title}`}>
          {fileIds.map((id) => (
            <FileLink key={id} id={id} />
          ))}
        </ul>
      ) : (
        <p className="muted">No photos yet.</p>
      )}
      <input
        id={inputId}
        type="file"
        accept="image/*"
        disabled={!editable || Boolean(busy) || full}
        aria-describedby={hintId}
        onChange={choose}
      />
      {full && <p className="muted">At most {limit} photos.</p>}
      {busy && (
        <p role="status" className="muted">
          Uploading “{busy}”…
        </p>
      )}
      {problem && (
        <p role="alert" className="notice error" data-testid="upload-error">
          {problem}
        </p>
      )}
    </div>
  );
}

function FileLink({ id }) {
  const { data, error, refetch } = useQuery(FILE, { variables: { id }, fetchPolicy: "network-only" });
  const fetchedAt = useRef(0);
  const file = data?.node;
  if (file && !fetchedAt.current) fetchedAt.current = Date.now();
  if (error && !file) return <li className="muted">A file that cannot be shown ({errorInfo(error).message})</li>;
  if (!file) return <li className="muted">Loading file…</li>;
  const open = async (event) => {
    if (Date.now() - fetchedAt.current < LINK_MAX_AGE_MS) return;
    event.preventDefault();
    const { data: fresh } = await refetch();
    fetchedAt.current = Date.now();
    if (fresh?.node?.downloadUrl) window.location.assign(fresh.node.downloadUrl);
  };
  return (
    <li data-file={id}>
      <span className="filename">{file.filename}</span>{" "}
      <a href={file.downloadUrl} onClick={open} aria-label={`Download ${file.filename}`}>
        Download
      </a>
    </li>
  );
}
