"""Who may upload for which target, and another tenant's uploads and files looking exactly
like missing ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from graphql_api.common.ids import from_global_id, to_global_id
from tests.media.helpers import (
    COMPLETE_UPLOAD,
    CREATE_UPLOAD,
    DELETE_FILE,
    FILES,
    NODE,
    PNG,
    create_upload,
    post_form,
    upload,
    upload_input,
)
from tests.support.domain_factories import Workspace, create_checklist
from tests.support.factories import create_org
from tests.support.graphql import GraphQLClient


async def _run(ws: Workspace) -> str:
    return str((await ws.start((await ws.assign())["id"]))["id"])


async def _targets(ws: Workspace) -> dict[str, dict[str, Any]]:
    run_id = await _run(ws)
    return {
        "RUN_ITEM": {"kind": "RUN_ITEM", "id": run_id, "itemId": "p1"},
        "RUN": {"kind": "RUN", "id": run_id},
        "CHECKLIST": {"kind": "CHECKLIST", "id": ws.checklist_id},
        "TEAM": {"kind": "TEAM", "id": ws.team_id},
        "AVATAR": {"kind": "AVATAR"},
    }


# role -> target kinds it may upload for (MEMBER is assigned to the runs; OUTSIDER is a
# MEMBER who is not); everything else is FORBIDDEN.
ALLOWED = {
    "OWNER": {"RUN_ITEM", "RUN", "CHECKLIST", "TEAM", "AVATAR"},
    "ADMIN": {"RUN_ITEM", "RUN", "CHECKLIST", "TEAM", "AVATAR"},
    "MANAGER": {"RUN_ITEM", "RUN", "CHECKLIST", "TEAM", "AVATAR"},
    "MEMBER": {"RUN_ITEM", "RUN", "AVATAR"},
    "OUTSIDER": {"AVATAR"},
    "VIEWER": set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
async def test_who_uploads_for_what(workspace: Workspace, role: str) -> None:
    ws = workspace
    client = ws.client(role)
    for kind, target in (await _targets(ws)).items():
        variables = {"input": upload_input(ws.org_id, target)}
        body = await client.execute(CREATE_UPLOAD, variables)
        if kind in ALLOWED[role]:
            assert not body.get("errors"), (kind, body)
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (kind, body)


async def test_an_avatar_is_only_ones_own(workspace: Workspace) -> None:
    ws = workspace
    own = {"kind": "AVATAR", "id": ws.member_id("MEMBER")}
    other = {"kind": "AVATAR", "id": ws.member_id("MANAGER")}
    member = ws.client("MEMBER")
    await member.data(CREATE_UPLOAD, {"input": upload_input(ws.org_id, own)})
    code = await member.error_code(CREATE_UPLOAD, {"input": upload_input(ws.org_id, other)})
    assert code == "FORBIDDEN"
    pdf = upload_input(ws.org_id, own, content_type="application/pdf")
    assert await member.error_code(CREATE_UPLOAD, {"input": pdf}) == "BAD_USER_INPUT"


async def test_targets_must_exist_in_the_organization(
    workspace: Workspace, client_for: Callable[..., GraphQLClient]
) -> None:
    ws = workspace
    manager = ws.client("MANAGER")
    org = from_global_id(ws.org_id).org_id
    other = await create_org(client_for, roles=[])
    other_org = from_global_id(other.id).org_id
    for target in (
        {"kind": "CHECKLIST", "id": to_global_id("Checklist", org, "missing")},
        {"kind": "TEAM", "id": to_global_id("Team", org, "missing")},
        {"kind": "RUN", "id": to_global_id("Run", org, "missing")},
        {"kind": "CHECKLIST", "id": to_global_id("Checklist", other_org, "x")},
        {"kind": "TEAM", "id": ws.checklist_id},  # an ID of another type
    ):
        code = await manager.error_code(CREATE_UPLOAD, {"input": upload_input(ws.org_id, target)})
        assert code == "NOT_FOUND", target


async def test_listing_files_of_a_missing_target_is_not_found(workspace: Workspace) -> None:
    """Not an empty page: a target that names nothing answers like another tenant's."""
    ws = workspace
    viewer = ws.client("VIEWER")
    org = from_global_id(ws.org_id).org_id
    run_id = await _run(ws)
    for target in (
        {"kind": "CHECKLIST", "id": to_global_id("Checklist", org, "missing")},
        {"kind": "TEAM", "id": to_global_id("Team", org, "missing")},
        {"kind": "RUN", "id": to_global_id("Run", org, "missing")},
        {"kind": "RUN_ITEM", "id": run_id, "itemId": "no-such-item"},
        {"kind": "AVATAR", "id": to_global_id("Member", org, "missing")},
    ):
        code = await viewer.error_code(FILES, {"org": ws.org_id, "target": target})
        assert code == "NOT_FOUND", target
    for target in (await _targets(ws)).values():
        listed = await viewer.data(FILES, {"org": ws.org_id, "target": target})
        assert listed["files"]["nodes"] == [], target


async def test_another_tenants_upload_and_file_are_not_found(
    workspace: Workspace,
    client_for: Callable[..., GraphQLClient],
    s3_http: httpx.AsyncClient,
) -> None:
    ws = workspace
    member = ws.client("MEMBER")
    file = await upload(member, s3_http, ws.org_id, {"kind": "AVATAR"})
    pending = await create_upload(member, ws.org_id, {"kind": "AVATAR"})
    await post_form(s3_http, pending, PNG)
    stranger = (await create_org(client_for, roles=[])).clients["OWNER"]
    org = from_global_id(ws.org_id).org_id
    missing_upload = to_global_id("Upload", org, "nope")
    missing_file = to_global_id("File", org, "nope")

    async def error(client: GraphQLClient, query: str, id_: str) -> dict[str, Any]:
        body = await client.execute(query, {"id": id_})
        err: dict[str, Any] = body["errors"][0]
        return {"message": err["message"], **err["extensions"]}

    for query, real, missing in (
        (COMPLETE_UPLOAD, pending["upload"]["id"], missing_upload),
        (DELETE_FILE, file["id"], missing_file),
        (NODE, file["id"], missing_file),
        (NODE, pending["upload"]["id"], missing_upload),
    ):
        answer = await error(stranger, query, real)
        assert answer["code"] == "NOT_FOUND"
        assert answer == await error(stranger, query, missing)
    # Inside the organization an upload is its uploader's alone.
    teammate = ws.client("TEAMMATE")
    assert await error(teammate, COMPLETE_UPLOAD, pending["upload"]["id"]) == await error(
        teammate, COMPLETE_UPLOAD, missing_upload
    )
    assert await teammate.error_code(NODE, {"id": pending["upload"]["id"]}) == "NOT_FOUND"
    # The stranger cannot list the org's files either, and the upload is still completable.
    variables = {"org": ws.org_id, "target": {"kind": "AVATAR", "id": ws.member_id("MEMBER")}}
    assert await stranger.error_code(FILES, variables) == "NOT_FOUND"
    listed = await ws.client("VIEWER").data(FILES, variables)
    assert file["id"] in [f["id"] for f in listed["files"]["nodes"]]
    done = await member.data(COMPLETE_UPLOAD, {"id": pending["upload"]["id"]})
    assert done["completeUpload"]["size"] == len(PNG)


async def test_download_url_needs_membership(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    file = await upload(ws.client("MEMBER"), s3_http, ws.org_id, {"kind": "AVATAR"})
    url = (await ws.client("VIEWER").data(NODE, {"id": file["id"]}))["node"]["downloadUrl"]
    assert url.split("?")[0].endswith(file["filename"])
    anonymous = await ws.client("VIEWER").http.post(
        "/graphql", json={"query": NODE, "variables": {"id": file["id"]}}
    )
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_files_are_listed_newest_first_in_pages(
    workspace: Workspace, s3_http: httpx.AsyncClient
) -> None:
    ws = workspace
    manager = ws.client("MANAGER")
    target = {"kind": "CHECKLIST", "id": ws.checklist_id}
    made = [(await upload(manager, s3_http, ws.org_id, target))["id"] for _ in range(3)]
    seen: list[str] = []
    after = None
    while True:
        page = (
            await ws.client("VIEWER").data(
                FILES, {"org": ws.org_id, "target": target, "first": 2, "after": after}
            )
        )["files"]
        seen += [f["id"] for f in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(made))


UPDATE_ROLE = """
mutation($id: ID!, $role: Role!) { updateMemberRole(memberId: $id, role: $role) { role } }"""


async def test_access_is_checked_again_at_completion(
    client_for: Callable[..., GraphQLClient], s3_http: httpx.AsyncClient
) -> None:
    org = await create_org(client_for, roles=["MANAGER"])
    owner, manager = org.clients["OWNER"], org.clients["MANAGER"]
    checklist = await create_checklist(owner, org.id)
    payload = await create_upload(manager, org.id, {"kind": "CHECKLIST", "id": checklist})
    await post_form(s3_http, payload, PNG)
    await owner.data(UPDATE_ROLE, {"id": org.member_id("MANAGER"), "role": "MEMBER"})
    assert await manager.error_code(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]}) == (
        "FORBIDDEN"
    )
    await owner.data(UPDATE_ROLE, {"id": org.member_id("MANAGER"), "role": "VIEWER"})
    assert await manager.error_code(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]}) == (
        "FORBIDDEN"
    )
    await owner.data(UPDATE_ROLE, {"id": org.member_id("MANAGER"), "role": "MANAGER"})
    await manager.data(COMPLETE_UPLOAD, {"id": payload["upload"]["id"]})
