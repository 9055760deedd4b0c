"""Validation of an item's answer by the kind of its checklist item.

CHECK: `done` only. TEXT: a string within maxLength. NUMBER: a number within min/max.
PHOTO: null or a list of file IDs (filled by uploads). For the kinds with a value, `done`
defaults to "a value is given", and a done TEXT or NUMBER item needs its value.
"""

from __future__ import annotations

import math
from typing import Any

from graphql_api.errors import bad_input

# Defaults when the checklist item sets no bound (the checklist domain's own maxima).
MAX_TEXT_LENGTH = 10_000
MAX_PHOTO_FILES = 20
MAX_FILE_ID = 128


def _error(message: str, argument: str = "value") -> Exception:
    return bad_input(message, argument=argument)


def _text(definition: dict[str, Any], value: Any) -> None:
    if not isinstance(value, str):
        raise _error("A TEXT item's value must be a string")
    limit = int(definition.get("maxLength") or MAX_TEXT_LENGTH)
    if len(value) > limit:
        raise bad_input(
            f"The text is longer than {limit} characters", argument="value", maxLength=limit
        )


def _number(definition: dict[str, Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _error("A NUMBER item's value must be a number")
    low, high = definition.get("min"), definition.get("max")
    if low is not None and value < low:
        raise bad_input(f"The value must be at least {low}", argument="value", min=low)
    if high is not None and value > high:
        raise bad_input(f"The value must be at most {high}", argument="value", max=high)


def _photo(definition: dict[str, Any], value: Any) -> None:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and 0 < len(v) <= MAX_FILE_ID for v in value
    ):
        raise _error("A PHOTO item's value must be null or a list of file IDs")
    if len(set(value)) != len(value):
        raise _error("A PHOTO item lists a file twice")
    limit = int(definition.get("maxFiles") or MAX_PHOTO_FILES)
    if len(value) > limit:
        raise bad_input(f"At most {limit} photos", argument="value", maxFiles=limit)


CHECKS = {"TEXT": _text, "NUMBER": _number, "PHOTO": _photo}


def validate(definition: dict[str, Any], done: bool | None, value: Any) -> tuple[bool, Any]:
    """(done, value) to store for `definition`; BAD_USER_INPUT when they do not fit."""
    kind = definition["kind"]
    if kind == "CHECK":
        if value is not None:
            raise _error("A CHECK item takes `done` only, not a value")
        if done is None:
            raise _error("`done` is required for a CHECK item", argument="done")
        return done, None
    if value is not None:
        CHECKS[kind](definition, value)
    has_value = value is not None and value != "" and value != []
    if done is None:
        done = has_value
    if done and not has_value and kind in ("TEXT", "NUMBER"):
        raise _error(f"A done {kind} item needs a value")
    return done, value
