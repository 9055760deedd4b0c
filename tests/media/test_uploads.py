"""Uploads end to end: presigned POST to (moto) S3 with httpx, completeUpload, download, the
run item and its event; what is refused at completion; the signed policy itself."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from graphql_api.common.ids import from_global_id
from graphql_api.context import Resources
from graphql_api.metrics import S3_CALLS
from graphql_api.realtime import channels
from graphql_api.store import keys
from tests.media.helpers import (
    COMPLETE_UPLOAD,
    FILES,
    NODE,
    PNG,
    create_upload,
    object_exists,
    post_form,
    stored_upload,
    upload,
    usage,
)
from tests.support.domain_factories import Workspace

RUN_ITEM = """
query($id: ID!) {
  run(id: $id) {
    version
    items { itemId done value version }
    events { nodes { version type itemId before after } }
  }
}"""


def _s3_calls() -> Counter[str]:
    counts: Counter[str] = Counter()
    for metric in S3_CALLS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["operation"]] += int(sample.value)
    return counts


async def _photo_run(ws: Workspace) -> str:
    run = await ws.start((await ws.assign())["id"], "MEMBER")
    return str(run["id"])


def _target(run_id: str, item: str = "p1") -> dict[str, Any]:
    return {"kind": "RUN_ITEM", "id": run_id, "itemId": item}


async def test_upload_complete_and_download(
    workspace: Workspace, resources: Resources, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    run_id = await _photo_run(ws)
    before = await usage(ws.client("OWNER"), ws.org_id)
    gid = from_global_id(run_id)

    payload = await create_upload(member, ws.org_id, _target(run_id), filename="Gauge reading.png")
    assert payload["upload"]["status"] == "PENDING"
    assert payload["upload"]["target"] == _target(run_id)
    response = await post_form(s3_http, payload, PNG)
    assert response.status_code == 204, response.text
    async with resources.hub.subscribe(channels.run(gid.org_id, gid.id)) as messages:
        data = await member.data(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
        message = await asyncio.wait_for(anext(messages), 5)
    file = data["completeUpload"]
    assert file["filename"] == "Gauge reading.png"
    assert file["contentType"] == "image/png"
    assert file["size"] == len(PNG)
    assert file["uploaderId"] == member.sub
    assert file["uploader"] == {"userId": member.sub}
    assert await usage(ws.client("OWNER"), ws.org_id) == before + len(PNG)

    # The PHOTO item holds the file's ID; the run moved one version with a FILE_ATTACHED event
    # (published after the commit, so subscribers of runUpdated get it).
    run = (await ws.client("VIEWER").data(RUN_ITEM, {"id": run_id}))["run"]
    photo = next(i for i in run["items"] if i["itemId"] == "p1")
    assert photo["value"] == [file["id"]]
    assert photo["done"] is False
    last = run["events"]["nodes"][-1]
    assert last["type"] == "FILE_ATTACHED" and last["itemId"] == "p1"
    assert last["version"] == run["version"]
    assert last["after"]["fileId"] == file["id"]
    event = json.loads(message.data or "")
    assert event["type"] == "FILE_ATTACHED" and event["version"] == run["version"]

    # A VIEWER of the org downloads it: the bytes, as an attachment under the original name.
    viewer_file = (await ws.client("VIEWER").data(NODE, {"id": file["id"]}))["node"]
    download = await s3_http.get(viewer_file["downloadUrl"])
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-disposition"] == 'attachment; filename="Gauge reading.png"'
    assert download.headers["content-type"] == "image/png"
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in viewer_file["downloadUrl"]
    assert "X-Amz-Expires=300" in viewer_file["downloadUrl"]

    # Listed under its target; the upload says READY and points at the file.
    files = await ws.client("VIEWER").data(FILES, {"org": ws.org_id, "target": _target(run_id)})
    assert [f["id"] for f in files["files"]["nodes"]] == [file["id"]]
    upload_node = (await member.data(NODE, {"id": payload["upload"]["id"]}))["node"]
    assert upload_node["status"] == "READY" and upload_node["file"] == {"id": file["id"]}
    # Completing again answers the same file (a retried request), and changes nothing.
    again = await member.data(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    assert again["completeUpload"]["id"] == file["id"]
    assert await usage(ws.client("OWNER"), ws.org_id) == before + len(PNG)

    # The pending tag is gone: the lifecycle rule for abandoned uploads no longer applies.
    item = await stored_upload(resources, payload["upload"]["id"])
    tags = await resources.store.s3.get_object_tagging(
        Bucket=resources.store.config.bucket, Key=item["objectKey"]
    )
    assert tags["TagSet"] == [{"Key": "upload", "Value": "complete"}]
    assert "ttl" not in item


async def test_signed_policy_pins_bucket_key_type_length_and_expiry(
    workspace: Workspace, resources: Resources
) -> None:
    # moto accepts any signature and ignores the policy: check what S3 would enforce.
    ws = workspace
    run_id = await _photo_run(ws)
    issued = datetime.now(UTC)
    payload = await create_upload(ws.client("MEMBER"), ws.org_id, _target(run_id), size=1234)
    fields = payload["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].endswith("/us-east-1/s3/aws4_request")
    assert fields["x-amz-signature"] and fields["x-amz-date"]
    assert fields["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    org = from_global_id(ws.org_id).org_id
    fid = from_global_id(payload["upload"]["id"]).id
    key = f"org/{org}/files/{fid}/photo.png"
    assert fields["key"] == key
    assert {"bucket": resources.store.config.bucket} in conditions
    assert {"key": key} in conditions
    assert ["eq", "$Content-Type", "image/png"] in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"tagging": fields["tagging"]} in conditions
    assert "<Key>upload</Key><Value>pending</Value>" in fields["tagging"]
    # Nothing in the form is left unpinned (S3 refuses fields the policy does not cover).
    pinned = {next(iter(c)) for c in conditions if isinstance(c, dict)} | {"content-type"}
    assert {f.lower() for f in fields if f not in ("policy", "x-amz-signature")} <= {
        p.lower() for p in pinned
    }
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert issued < expiration <= issued + timedelta(minutes=10, seconds=5)
    form_expires = datetime.fromisoformat(payload["formExpiresAt"])
    assert abs((form_expires - expiration).total_seconds()) < 2
    assert datetime.fromisoformat(payload["upload"]["expiresAt"]) > form_expires


async def test_filename_is_never_a_path(workspace: Workspace, resources: Resources) -> None:
    ws = workspace
    payload = await create_upload(
        ws.client("MANAGER"),
        ws.org_id,
        {"kind": "CHECKLIST", "id": ws.checklist_id},
        filename="../../etc/\u202eevil\x00gnp.pdf",
        content_type="application/pdf",
    )
    org = from_global_id(ws.org_id).org_id
    fid = from_global_id(payload["upload"]["id"]).id
    assert payload["fields"]["key"] == f"org/{org}/files/{fid}/evilgnp.pdf"
    assert payload["upload"]["filename"] == "evilgnp.pdf"


async def test_wrong_size_is_refused_and_the_object_deleted(
    workspace: Workspace, resources: Resources, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    run_id = await _photo_run(ws)
    before = await usage(ws.client("OWNER"), ws.org_id)
    payload = await create_upload(member, ws.org_id, _target(run_id), size=len(PNG))
    await post_form(s3_http, payload, PNG + b"more")  # moto does not enforce the length
    key = payload["fields"]["key"]
    assert await object_exists(resources, key)
    calls = _s3_calls()
    body = await member.execute(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    assert _s3_calls() - calls == {"HeadObject": 1, "DeleteObject": 1}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["status"] == "REJECTED"
    assert not await object_exists(resources, key)
    node = (await member.data(NODE, {"id": payload["upload"]["id"]}))["node"]
    assert node["status"] == "REJECTED" and node["file"] is None
    assert await member.error_code(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]}) == (
        "BAD_USER_INPUT"
    )
    assert await usage(ws.client("OWNER"), ws.org_id) == before
    run = (await ws.client("VIEWER").data(RUN_ITEM, {"id": run_id}))["run"]
    assert next(i for i in run["items"] if i["itemId"] == "p1")["value"] is None
    # Nothing of it is pending any more.
    item = await stored_upload(resources, payload["upload"]["id"])
    marker = keys.pending_upload(item["orgId"], item["expiresAt"], item["id"])
    assert await resources.store.get(marker, consistent=True) is None


async def test_wrong_type_is_refused_and_the_object_deleted(
    workspace: Workspace, resources: Resources, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    run_id = await _photo_run(ws)
    payload = await create_upload(member, ws.org_id, _target(run_id))
    await post_form(s3_http, payload, PNG, **{"Content-Type": "text/html"})
    key = payload["fields"]["key"]
    assert await object_exists(resources, key)
    assert await member.error_code(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]}) == (
        "BAD_USER_INPUT"
    )
    assert not await object_exists(resources, key)


async def test_completing_before_the_upload_keeps_it_pending(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    payload = await create_upload(
        member, ws.org_id, {"kind": "RUN", "id": await _photo_run(ws)}, content_type="image/png"
    )
    body = await member.execute(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "status": "PENDING"}
    await post_form(s3_http, payload, PNG)
    file = (await member.data(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]}))["completeUpload"]
    assert file["target"]["kind"] == "RUN"


async def test_types_outside_the_list_are_refused(workspace: Workspace) -> None:
    ws = workspace
    manager = ws.client("MANAGER")
    target = {"kind": "CHECKLIST", "id": ws.checklist_id}
    for ctype in ("text/html", "image/svg+xml", "application/x-msdownload", "image/png; x=1"):
        code = await manager.error_code(
            CREATE_UPLOAD_Q, {"input": _input(ws.org_id, target, ctype)}
        )
        assert code == "BAD_USER_INPUT", ctype
    for ctype in ("application/pdf", "text/csv", "IMAGE/JPEG"):
        await manager.data(CREATE_UPLOAD_Q, {"input": _input(ws.org_id, target, ctype)})
    # A PHOTO item takes images only.
    run_id = await _photo_run(ws)
    code = await ws.client("MEMBER").error_code(
        CREATE_UPLOAD_Q, {"input": _input(ws.org_id, _target(run_id), "application/pdf")}
    )
    assert code == "BAD_USER_INPUT"
    # ... and only PHOTO items take files.
    code = await ws.client("MEMBER").error_code(
        CREATE_UPLOAD_Q, {"input": _input(ws.org_id, _target(run_id, "t1"), "image/png")}
    )
    assert code == "BAD_USER_INPUT"


CREATE_UPLOAD_Q = """
mutation($input: CreateUploadInput!) { createUpload(input: $input) { upload { id } } }"""


def _input(org_id: str, target: dict[str, Any], ctype: str) -> dict[str, Any]:
    return {
        "orgId": org_id,
        "target": target,
        "filename": "f",
        "contentType": ctype,
        "size": 10,
    }


async def test_photo_items_hold_at_most_max_files(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    run_id = await _photo_run(ws)
    first = await upload(member, s3_http, ws.org_id, _target(run_id))
    second = await upload(member, s3_http, ws.org_id, _target(run_id))
    payload = await create_upload(member, ws.org_id, _target(run_id))
    await post_form(s3_http, payload, PNG)
    body = await member.execute(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["maxFiles"] == 2
    run = (await ws.client("VIEWER").data(RUN_ITEM, {"id": run_id}))["run"]
    photo = next(i for i in run["items"] if i["itemId"] == "p1")
    assert photo["value"] == [first["id"], second["id"]]


async def test_non_ascii_names_download_with_rfc6266_filename(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    file = await upload(
        ws.client("MANAGER"),
        s3_http,
        ws.org_id,
        {"kind": "TEAM", "id": ws.team_id},
        body=b"a;b\n1;2\n",
        filename="Prüfbericht März.csv",
        content_type="text/csv",
    )
    assert file["filename"] == "Prüfbericht März.csv"
    node = (await ws.client("VIEWER").data(NODE, {"id": file["id"]}))["node"]
    download = await s3_http.get(node["downloadUrl"])
    assert download.content == b"a;b\n1;2\n"
    assert download.headers["content-type"] == "text/csv"
    assert download.headers["content-disposition"] == (
        'attachment; filename="Pr_fbericht M_rz.csv"; '
        "filename*=UTF-8''Pr%C3%BCfbericht%20M%C3%A4rz.csv"
    )
