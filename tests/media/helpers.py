"""Operations and plain helpers of the media tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from graphql_api.common.ids import from_global_id
from graphql_api.common.time import iso, utcnow
from graphql_api.context import Resources
from graphql_api.store import keys
from tests.support.graphql import GraphQLClient

UPLOAD_FIELDS = "id status filename contentType size expiresAt target { kind id itemId }"
FILE_FIELDS = """
  id filename contentType size uploaderId createdAt
  target { kind id itemId }
  uploader { userId }
"""
CREATE_UPLOAD = f"""
mutation($input: CreateUploadInput!) {{
  createUpload(input: $input) {{ upload {{ {UPLOAD_FIELDS} }} url fields formExpiresAt }}
}}"""
COMPLETE_UPLOAD = f"""
mutation($id: ID!) {{ completeUpload(uploadId: $id) {{ {FILE_FIELDS} downloadUrl }} }}"""
DELETE_FILE = "mutation($id: ID!) { deleteFile(fileId: $id) { id size } }"
NODE = f"""
query($id: ID!) {{
  node(id: $id) {{
    id
    ... on File {{ {FILE_FIELDS} downloadUrl }}
    ... on Upload {{ {UPLOAD_FIELDS} file {{ id }} }}
  }}
}}"""
FILES = f"""
query($org: ID!, $target: FileTargetInput!, $first: Int, $after: String) {{
  files(orgId: $org, target: $target, first: $first, after: $after) {{
    nodes {{ {FILE_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
USAGE = "query($id: ID!) { organization(id: $id) { usage { storageBytes } } }"

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def upload_input(
    org_id: str,
    target: dict[str, Any],
    *,
    filename: str = "photo.png",
    content_type: str = "image/png",
    size: int = len(PNG),
) -> dict[str, Any]:
    return {
        "orgId": org_id,
        "target": target,
        "filename": filename,
        "contentType": content_type,
        "size": size,
    }


async def create_upload(
    client: GraphQLClient, org_id: str, target: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    data = await client.data(CREATE_UPLOAD, {"input": upload_input(org_id, target, **kw)})
    payload: dict[str, Any] = data["createUpload"]
    return payload


async def post_form(
    http: httpx.AsyncClient, payload: dict[str, Any], body: bytes, **overrides: str
) -> httpx.Response:
    """What a browser does: the returned fields, then the file, as multipart/form-data."""
    fields = {**payload["fields"], **overrides}
    response = await http.post(
        payload["url"], data=fields, files={"file": ("ignored-name.bin", body)}
    )
    return response


async def upload(
    client: GraphQLClient,
    http: httpx.AsyncClient,
    org_id: str,
    target: dict[str, Any],
    body: bytes = PNG,
    **kw: Any,
) -> dict[str, Any]:
    """createUpload, the POST to S3, completeUpload: the READY file."""
    payload = await create_upload(client, org_id, target, size=len(body), **kw)
    response = await post_form(http, payload, body)
    assert response.status_code in (200, 201, 204), response.text
    data = await client.data(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    file: dict[str, Any] = data["completeUpload"]
    return file


async def usage(client: GraphQLClient, org_id: str) -> int:
    data = await client.data(USAGE, {"id": org_id})
    return int(data["organization"]["usage"]["storageBytes"])


async def object_exists(resources: Resources, key: str) -> bool:
    """HeadObject straight on the bucket (the check the tests make, not the app)."""
    try:
        await resources.store.s3.head_object(Bucket=resources.store.config.bucket, Key=key)
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "404":
            return False
        raise
    return True


async def stored_upload(resources: Resources, upload_id: str) -> dict[str, Any]:
    gid = from_global_id(upload_id)
    item = await resources.store.get(keys.file(gid.org_id, gid.id), consistent=True)
    assert item is not None
    return item


async def expire(
    resources: Resources, upload_id: str, ago: timedelta = timedelta(seconds=1)
) -> None:
    """Let time pass for one pending upload: its expiry (and its marker's key) in the past."""
    item = await stored_upload(resources, upload_id)
    past = iso(utcnow() - ago)
    store = resources.store
    marker = await store.get(keys.pending_upload(item["orgId"], item["expiresAt"], item["id"]))
    assert marker is not None
    await store.delete(keys.pending_upload(item["orgId"], item["expiresAt"], item["id"]))
    await store.put({**marker, **keys.pending_upload(item["orgId"], past, item["id"])})
    await store.put({**item, "expiresAt": past})


async def set_storage(resources: Resources, org_id: str, storage_bytes: int) -> None:
    """Pretend the org already stores `storage_bytes` (quota tests without gigabytes)."""
    org = from_global_id(org_id).org_id
    await resources.store.update(
        keys.org(org), "SET storageBytes = :b", values={":b": storage_bytes}
    )
