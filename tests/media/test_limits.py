"""Per-plan file size, the storage quota (usage plus live pending uploads), expiry of pending
uploads, and deleting a file giving its bytes back."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from graphql_api.context import Resources
from graphql_api.orgs.plans import MB, Plan, limits_of
from graphql_api.store import keys
from tests.media.helpers import (
    COMPLETE_UPLOAD,
    CREATE_UPLOAD,
    DELETE_FILE,
    NODE,
    PNG,
    create_upload,
    expire,
    object_exists,
    post_form,
    set_storage,
    stored_upload,
    upload,
    upload_input,
    usage,
)
from tests.support.domain_factories import SUBMIT, Workspace
from tests.support.factories import create_org
from tests.support.graphql import GraphQLClient

FREE = limits_of(Plan.FREE)
RUN_EVENTS = """
query($id: ID!) {
  run(id: $id) {
    items { itemId value }
    events { nodes { version type itemId after } }
  }
}"""


def _avatar() -> dict[str, str]:
    return {"kind": "AVATAR"}


async def _code(client: GraphQLClient, org_id: str, size: int) -> str:
    variables = {"input": upload_input(org_id, _avatar(), size=size)}
    return await client.error_code(CREATE_UPLOAD, variables)


async def test_free_plan_file_size(client_for: Callable[..., GraphQLClient]) -> None:
    org = await create_org(client_for, roles=["MEMBER"], plan=None)
    member = org.clients["MEMBER"]
    assert FREE.max_file_bytes == 10 * MB
    body = await member.execute(
        CREATE_UPLOAD, {"input": upload_input(org.id, _avatar(), size=10 * MB + 1)}
    )
    error = body["errors"][0]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 10 * MB}
    payload = await create_upload(member, org.id, _avatar(), size=10 * MB)
    assert payload["fields"]["policy"]


async def test_quota_counts_usage_and_live_pending_uploads(
    client_for: Callable[..., GraphQLClient], resources: Resources
) -> None:
    org = await create_org(client_for, roles=["MEMBER"], plan=None)
    member = org.clients["MEMBER"]
    quota = FREE.storage_bytes
    assert quota is not None
    await set_storage(resources, org.id, quota - 100)
    assert await _code(member, org.id, 101) == "LIMIT_EXCEEDED"
    first = await create_upload(member, org.id, _avatar(), size=60)
    # 60 bytes are pending: 41 more do not fit, 40 do.
    body = await member.execute(CREATE_UPLOAD, {"input": upload_input(org.id, _avatar(), size=41)})
    assert body["errors"][0]["extensions"] == {
        "code": "LIMIT_EXCEEDED",
        "limit": quota,
        "used": quota - 40,
        "size": 41,
    }
    second = await create_upload(member, org.id, _avatar(), size=40)
    assert await _code(member, org.id, 1) == "LIMIT_EXCEEDED"
    # Once a pending upload expires nothing of it counts, though its items are still there.
    await expire(resources, first["upload"]["id"])
    await create_upload(member, org.id, _avatar(), size=60)
    assert await _code(member, org.id, 1) == "LIMIT_EXCEEDED"
    await expire(resources, second["upload"]["id"])
    await create_upload(member, org.id, _avatar(), size=40)


async def test_quota_is_checked_again_at_completion(
    client_for: Callable[..., GraphQLClient],
    resources: Resources,
    s3_http: httpx.AsyncClient,
) -> None:
    # The plan shrank (or usage grew) after the reservation: completion is refused.
    org = await create_org(client_for, roles=["MEMBER"], plan=None)
    member = org.clients["MEMBER"]
    quota = FREE.storage_bytes
    assert quota is not None
    payload = await create_upload(member, org.id, _avatar(), size=len(PNG))
    await post_form(s3_http, payload, PNG)
    await set_storage(resources, org.id, quota - len(PNG) + 1)
    body = await member.execute(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert not await object_exists(resources, payload["fields"]["key"])
    assert (await stored_upload(resources, payload["upload"]["id"]))["status"] == "REJECTED"
    assert await usage(org.clients["OWNER"], org.id) == quota - len(PNG) + 1


async def test_an_expired_upload_cannot_be_completed(
    workspace: Workspace, resources: Resources, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    before = await usage(ws.client("OWNER"), ws.org_id)
    payload = await create_upload(member, ws.org_id, _avatar())
    await post_form(s3_http, payload, PNG)
    await expire(resources, payload["upload"]["id"])
    node = (await member.data(NODE, {"id": payload["upload"]["id"]}))["node"]
    assert node["status"] == "EXPIRED"
    body = await member.execute(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "status": "EXPIRED"}
    assert not await object_exists(resources, payload["fields"]["key"])
    assert await member.error_code(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]}) == (
        "BAD_USER_INPUT"
    )
    assert await usage(ws.client("OWNER"), ws.org_id) == before
    item = await stored_upload(resources, payload["upload"]["id"])
    assert item["status"] == "EXPIRED" and item["ttl"] > 0


async def test_pending_uploads_carry_a_ttl(workspace: Workspace, resources: Resources) -> None:
    ws = workspace
    payload = await create_upload(ws.client("MEMBER"), ws.org_id, _avatar())
    item = await stored_upload(resources, payload["upload"]["id"])
    assert item["status"] == "PENDING"
    marker = await resources.store.get(
        keys.pending_upload(item["orgId"], item["expiresAt"], item["id"]), consistent=True
    )
    assert marker is not None and marker["size"] == len(PNG)
    # Kept a while past the expiry (reads check the expiry themselves), then deleted by TTL.
    assert item["ttl"] == marker["ttl"] > 0


async def test_delete_file_gives_usage_back(
    workspace: Workspace, resources: Resources, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    run = await ws.start((await ws.assign())["id"], "MEMBER")
    target = {"kind": "RUN_ITEM", "id": run["id"], "itemId": "p1"}
    before = await usage(ws.client("OWNER"), ws.org_id)
    file = await upload(member, s3_http, ws.org_id, target)
    item = await stored_upload(resources, file["id"])
    assert await usage(ws.client("OWNER"), ws.org_id) == before + len(PNG)
    # Not the uploader and below MANAGER: FORBIDDEN.
    assert await ws.client("TEAMMATE").error_code(DELETE_FILE, {"id": file["id"]}) == "FORBIDDEN"
    deleted = await member.data(DELETE_FILE, {"id": file["id"]})
    assert deleted["deleteFile"] == {"id": file["id"], "size": len(PNG)}
    assert await usage(ws.client("OWNER"), ws.org_id) == before
    assert not await object_exists(resources, item["objectKey"])
    assert await member.error_code(NODE, {"id": file["id"]}) == "NOT_FOUND"
    assert await member.error_code(DELETE_FILE, {"id": file["id"]}) == "NOT_FOUND"
    # The PHOTO item lets go of it, with a FILE_DETACHED event.
    data = (await ws.client("VIEWER").data(RUN_EVENTS, {"id": run["id"]}))["run"]
    assert next(i for i in data["items"] if i["itemId"] == "p1")["value"] == []
    last = data["events"]["nodes"][-1]
    assert last["type"] == "FILE_DETACHED" and last["after"]["fileId"] == file["id"]


async def test_a_manager_deletes_anyones_file(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    file = await upload(ws.client("MEMBER"), s3_http, ws.org_id, _avatar())
    await ws.client("MANAGER").data(DELETE_FILE, {"id": file["id"]})
    assert await ws.client("MEMBER").error_code(NODE, {"id": file["id"]}) == "NOT_FOUND"


async def test_usage_counts_every_completed_file(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    before = await usage(ws.client("OWNER"), ws.org_id)
    await upload(ws.client("MEMBER"), s3_http, ws.org_id, _avatar(), body=b"a" * 10)
    await upload(
        ws.client("MANAGER"),
        s3_http,
        ws.org_id,
        {"kind": "TEAM", "id": ws.team_id},
        body=b"b" * 20,
        filename="notes.txt",
        content_type="text/plain",
    )
    assert await usage(ws.client("OWNER"), ws.org_id) == before + 30


async def test_files_of_a_submitted_run_item_stay_until_it_is_reopened(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    run = await ws.start((await ws.assign())["id"], "MEMBER")
    target = {"kind": "RUN_ITEM", "id": run["id"], "itemId": "p1"}
    file = await upload(member, s3_http, ws.org_id, target)
    pending = await create_upload(member, ws.org_id, target)
    await post_form(s3_http, pending, PNG)
    await ws.complete_required(run["id"])
    await member.data(SUBMIT, {"id": run["id"]})
    assert await member.error_code(DELETE_FILE, {"id": file["id"]}) == "BAD_USER_INPUT"
    assert await member.error_code(COMPLETE_UPLOAD, {"id": pending["upload"]["id"]}) == (
        "BAD_USER_INPUT"
    )
    await ws.client("MANAGER").data(
        "mutation($id: ID!) { reopenRun(runId: $id) { status } }", {"id": run["id"]}
    )
    await member.data(COMPLETE_UPLOAD, {"id": pending["upload"]["id"]})
    await member.data(DELETE_FILE, {"id": file["id"]})
