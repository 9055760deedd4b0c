"""Validation of checklist items: per-kind constraints, unique IDs, size bounds.

Items arrive as plain dicts (the schema layer converts its inputs) and leave in the stored
shape: {id, title, description?, required, kind, min?, max?, maxLength?, maxFiles?}.
"""

from __future__ import annotations

import re
from typing import Any

from graphql_api.common.ids import new_id
from graphql_api.errors import AppError, bad_input

KINDS = ("CHECK", "TEXT", "NUMBER", "PHOTO")
MAX_ITEMS = 200
# Bounds keep a 200-item checklist (head and snapshot) well under DynamoDB's 400 KB per item.
MAX_ITEM_TITLE = 200
MAX_ITEM_DESCRIPTION = 1000
MAX_TEXT_LENGTH = 10_000
MAX_PHOTO_FILES = 20
ITEM_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Which constraint belongs to which kind (stored attribute name -> kind).
CONSTRAINT_KIND = {"min": "NUMBER", "max": "NUMBER", "maxLength": "TEXT", "maxFiles": "PHOTO"}


def _error(index: int, message: str) -> AppError:
    return bad_input(f"items[{index}]: {message}", argument="items", index=index)


def _bounded_int(index: int, name: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise _error(index, f"{name} must be between {low} and {high}")
    return value


def _item(index: int, raw: dict[str, Any], item_id: str) -> dict[str, Any]:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _error(index, f"kind must be one of {', '.join(KINDS)}")
    title = str(raw.get("title") or "").strip()
    if not 1 <= len(title) <= MAX_ITEM_TITLE:
        raise _error(index, f"title must be 1 to {MAX_ITEM_TITLE} characters")
    description = str(raw.get("description") or "").strip()
    if len(description) > MAX_ITEM_DESCRIPTION:
        raise _error(index, f"description must be at most {MAX_ITEM_DESCRIPTION} characters")
    item: dict[str, Any] = {
        "id": item_id,
        "title": title,
        "required": bool(raw.get("required", True)),
        "kind": kind,
    }
    if description:
        item["description"] = description
    for name, owner in CONSTRAINT_KIND.items():
        if raw.get(name) is not None and owner != kind:
            raise _error(index, f"{name} applies only to {owner} items")
    if kind == "NUMBER":
        low, high = raw.get("min"), raw.get("max")
        if low is not None and high is not None and low > high:
            raise _error(index, "min must not be greater than max")
        item.update({"min": low, "max": high})
    elif kind == "TEXT" and raw.get("maxLength") is not None:
        item["maxLength"] = _bounded_int(index, "maxLength", raw["maxLength"], 1, MAX_TEXT_LENGTH)
    elif kind == "PHOTO" and raw.get("maxFiles") is not None:
        item["maxFiles"] = _bounded_int(index, "maxFiles", raw["maxFiles"], 1, MAX_PHOTO_FILES)
    return {k: v for k, v in item.items() if v is not None}


def normalize_items(raw_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated items in the stored shape; IDs the client left out are assigned here."""
    if len(raw_items) > MAX_ITEMS:
        raise bad_input(f"A checklist has at most {MAX_ITEMS} items", argument="items")
    given: set[str] = set()
    for index, raw in enumerate(raw_items):
        item_id = raw.get("id")
        if item_id is None:
            continue
        if not ITEM_ID_RE.match(item_id):
            raise _error(index, "id must be 1-64 letters, digits, '-' or '_'")
        if item_id in given:
            raise _error(index, f"duplicate item id {item_id!r}")
        given.add(item_id)
    items = []
    for index, raw in enumerate(raw_items):
        item_id = raw.get("id")
        if item_id is None:
            item_id = new_id()
            while item_id in given:
                item_id = new_id()
            given.add(item_id)
        items.append(_item(index, raw, item_id))
    return items
