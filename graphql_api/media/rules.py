"""What may be uploaded, and how a client's filename is made safe.

A filename arrives from the client and is never trusted as a path: the display name keeps
the person's characters but loses path components and control/format characters (which
include the bidi overrides used to disguise `exe.pdf` as `fdp.exe`); the S3 key gets an
ASCII-only version of it under a prefix the server chose.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"})
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "text/csv",
        "text/plain",
    }
)
ALLOWED_TYPES = IMAGE_TYPES | DOCUMENT_TYPES

MAX_FILENAME = 255
MAX_KEY_NAME = 100
MAX_EXTENSION = 16
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def content_type(raw: str) -> str | None:
    """The canonical form of an allowed type, or None. Parameters (`; charset=...`) are not
    accepted: the policy pins the exact string, and S3 stores what the browser sends."""
    value = raw.strip().lower()
    return value if value in ALLOWED_TYPES else None


def _truncate(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= MAX_EXTENSION:
        return f"{stem[: limit - len(ext) - 1]}.{ext}"
    return name[:limit]


def display_name(raw: str) -> str:
    """The name shown to people and offered on download ("file" when nothing is left)."""
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip()
    if name.strip(".") == "":
        return "file"
    return _truncate(name, MAX_FILENAME)


def key_name(display: str) -> str:
    """An ASCII, path-free version of a display name, for the last segment of an S3 key."""
    ascii_name = unicodedata.normalize("NFKD", display).encode("ascii", "ignore").decode()
    name = _UNSAFE_KEY_CHARS.sub("_", ascii_name)
    stem, dot, ext = name.rpartition(".")
    if dot and ext and not stem.strip("._-"):
        name = f"file.{ext}"  # nothing ASCII was left of the stem ("写真.jpg")
    return _truncate(name.lstrip("._-"), MAX_KEY_NAME) or "file"


def content_disposition(filename: str) -> str:
    """`attachment` with the original name: a quoted ASCII fallback, plus RFC 6266's
    `filename*` (UTF-8, percent-encoded) whenever the fallback had to change anything."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in filename)
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
