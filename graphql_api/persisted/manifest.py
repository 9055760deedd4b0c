"""Apollo persisted-query manifests: parsing and checking, shared by the API and the file.

The format is what `@apollo/generate-persisted-query-manifest` writes:
`{"format": "apollo-persisted-query-manifest", "version": 1,
  "operations": [{"id", "name", "type", "body"}]}` where `id` is the SHA-256 of `body`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql_api.errors import bad_input

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
MAX_OPERATIONS = 1000
MAX_BODY_CHARS = 50_000
OPERATION_TYPES = ("query", "mutation", "subscription")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_document_id(value: object) -> str | None:
    """A SHA-256 id as 64 lowercase hex digits ("sha256:" prefix allowed); None if malformed."""
    if not isinstance(value, str):
        return None
    value = value.removeprefix("sha256:").lower()
    return value if SHA256_RE.match(value) else None


@dataclass(frozen=True)
class ManifestOperation:
    """One operation of a manifest."""

    id: str
    name: str
    type: str
    body: str


def parse_manifest(raw: Any) -> list[ManifestOperation]:
    """Check a manifest (a dict or its JSON text); BAD_USER_INPUT names the first problem.

    Every id must be the SHA-256 of its body: ids are what requests name, so an id that does
    not match its text would let a manifest smuggle one operation under another's id.
    """
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise bad_input("manifest is not valid JSON", argument="manifest") from exc
    if not isinstance(raw, dict):
        raise bad_input("manifest must be a JSON object", argument="manifest")
    if raw.get("format") != MANIFEST_FORMAT or raw.get("version") != 1:
        raise bad_input(
            f'manifest must have "format": "{MANIFEST_FORMAT}" and "version": 1',
            argument="manifest",
        )
    operations = raw.get("operations")
    if not isinstance(operations, list):
        raise bad_input("manifest.operations must be a list", argument="manifest")
    if len(operations) > MAX_OPERATIONS:
        raise bad_input(
            f"a manifest holds at most {MAX_OPERATIONS} operations",
            argument="manifest",
            limit=MAX_OPERATIONS,
        )
    seen: dict[str, ManifestOperation] = {}
    for index, op in enumerate(operations):
        parsed = _operation(index, op)
        seen.setdefault(parsed.id, parsed)
    return list(seen.values())


def _operation(index: int, op: Any) -> ManifestOperation:
    where = f"manifest.operations[{index}]"
    if not isinstance(op, dict):
        raise bad_input(f"{where} must be an object", argument="manifest")
    op_id, name, op_type, body = (op.get(k) for k in ("id", "name", "type", "body"))
    if not isinstance(body, str) or not body.strip():
        raise bad_input(f"{where}.body must be a non-empty string", argument="manifest")
    if len(body) > MAX_BODY_CHARS:
        raise bad_input(f"{where}.body is longer than {MAX_BODY_CHARS} characters")
    if not isinstance(name, str) or not name:
        raise bad_input(f"{where}.name must be a non-empty string", argument="manifest")
    if op_type not in OPERATION_TYPES:
        raise bad_input(f"{where}.type must be one of {', '.join(OPERATION_TYPES)}")
    if not isinstance(op_id, str) or normalize_document_id(op_id) != op_id:
        raise bad_input(f"{where}.id must be 64 lowercase hex digits (SHA-256)")
    if sha256_hex(body) != op_id:
        raise bad_input(
            f"{where}.id is not the SHA-256 of its body", argument="manifest", operation=name
        )
    return ManifestOperation(op_id, name, op_type, body)


def load_manifest_file(path: str) -> dict[str, ManifestOperation]:
    """The first-party manifest deployed with the API (SAFELIST_MANIFEST), by id."""
    text = Path(path).read_text(encoding="utf-8")
    return {op.id: op for op in parse_manifest(text)}
