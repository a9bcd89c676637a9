"""Structured logs: one JSON object per line, and one line per request.

A request's line carries its request id, account id, GraphQL operation, duration and
status. No secret is ever logged: not the token (only its account), not the query's
variables, not the patterns of a list.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

import orjson

REQUEST_FIELDS = (
    "request_id",
    "account_id",
    "operation",
    "result",
    "status",
    "duration_ms",
    "method",
    "path",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["trace"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure(level: str = "INFO") -> None:
    """JSON lines on standard error for the service's loggers and uvicorn's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The request line below replaces uvicorn's access log.
    logging.getLogger("uvicorn.access").disabled = True


request_log = logging.getLogger("neverlog.request")
