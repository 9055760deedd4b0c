"""Operations and plain factory functions of the checklist tests."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQLClient

ITEM_FIELDS = "itemId title description required kind min max maxLength maxFiles"
CHECKLIST_FIELDS = f"""
  id title description status version publishedVersion createdBy
  items {{ {ITEM_FIELDS} }}
"""
CREATE = f"""
mutation($input: CreateChecklistInput!) {{
  createChecklist(input: $input) {{ {CHECKLIST_FIELDS} }}
}}
"""
UPDATE = f"""
mutation($input: UpdateChecklistInput!) {{
  updateChecklist(input: $input) {{ {CHECKLIST_FIELDS} }}
}}
"""
PUBLISH = f"""
mutation($id: ID!, $v: Int) {{
  publishChecklist(id: $id, expectedVersion: $v) {{ {CHECKLIST_FIELDS} }}
}}
"""
ARCHIVE = f"mutation($id: ID!) {{ archiveChecklist(id: $id) {{ {CHECKLIST_FIELDS} }} }}"
CHECKLIST = f"""
query($id: ID!, $v: Int) {{
  checklist(id: $id) {{
    {CHECKLIST_FIELDS}
    snapshot(version: $v) {{ checklistId version title items {{ itemId title }} }}
    snapshots {{ nodes {{ version title }} }}
  }}
}}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Checklist { title status } } }"
ORG_CHECKLISTS = """
query($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    usage { checklists }
    checklists(first: $first, after: $after) {
      nodes { id title status }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

ITEMS: list[dict[str, Any]] = [
    {"itemId": "door", "title": "Door locked", "kind": "CHECK"},
    {"title": "Temperature", "kind": "NUMBER", "min": -20, "max": 8.5, "required": False},
    {"itemId": "notes", "title": "Notes", "kind": "TEXT", "maxLength": 500},
    {"itemId": "photo", "title": "Photo of the shelf", "kind": "PHOTO", "maxFiles": 3},
]


async def create_checklist(
    client: GraphQLClient,
    org_id: str,
    title: str = "Cold room",
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data = await client.data(
        CREATE,
        {"input": {"orgId": org_id, "title": title, "items": ITEMS if items is None else items}},
    )
    created: dict[str, Any] = data["createChecklist"]
    return created


async def published_checklist(client: GraphQLClient, org_id: str) -> dict[str, Any]:
    created = await create_checklist(client, org_id)
    data = await client.data(PUBLISH, {"id": created["id"]})
    published: dict[str, Any] = data["publishChecklist"]
    return published
