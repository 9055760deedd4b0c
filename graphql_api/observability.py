"""Structured logs: one JSON object per line, with the request's identifiers."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from graphql_api import tracing

# Attributes of every LogRecord; anything else passed via `extra=` goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ...extra}`; exceptions as a `exc` string."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """Root logging for the process: JSON lines on stderr (or plain text for humans)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


access_log = logging.getLogger("graphql_api.access")


def log_operation(
    *,
    request_id: str,
    user_id: str | None,
    org_id: str | None,
    operation: str | None,
    operation_type: str,
    outcome: str,
    duration_ms: float,
) -> None:
    """One access-log line per GraphQL operation (with its `trace_id` when tracing is on)."""
    extra = {
        "request_id": request_id,
        "user": user_id,
        "org": org_id,
        "operation": operation or "anonymous",
        "operation_type": operation_type,
        "outcome": outcome,
        "duration_ms": round(duration_ms, 2),
    }
    trace_id = tracing.current_trace_id()
    if trace_id is not None:
        extra["trace_id"] = trace_id
    access_log.info("graphql operation", extra=extra)
