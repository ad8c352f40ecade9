"""JSON-line logging with the request id attached to every record.

Callers pass only the fields they choose; nothing here ever reads request headers, so
credentials, ``Authorization`` values and presigned URLs cannot reach the log by accident.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@contextmanager
def request_scope(value: object) -> Iterator[None]:
    """Every log line written inside carries ``value`` as its request id (None or empty:
    none). Each handler wraps one invocation in this."""
    token = request_id.set(str(value) if value else None)
    try:
        yield
    finally:
        request_id.reset(token)


_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time, so a replaced stdout (a test's
    capture, a redirect) never leaves the handler writing to a closed stream."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


#: ``serverless_pypi.audit``'s logger (named here so that this module imports nothing of ours).
AUDIT_LOGGER = "serverless_pypi.audit"


def setup(level: str = "INFO", stream: TextIO | None = None) -> logging.Logger:
    """Configure the package logger; calling again changes the level and the stream."""
    logger = logging.getLogger("serverless_pypi")
    handlers = [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]
    if handlers:
        handler = handlers[0]
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream or _CurrentStdout())
    logger.setLevel(level)
    # The audit trail is kept whatever the level (a caller such as the CLI may lower it after).
    logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
    return logger
