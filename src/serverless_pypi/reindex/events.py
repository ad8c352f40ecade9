"""S3 event notifications as the reindex Lambda receives them (usually wrapped in SNS).

Parsing never raises: every record either yields a change or is counted as skipped with a
logged reason, so one bad record cannot fail the batch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

log = logging.getLogger(__name__)

#: Event families that can change what the bucket serves.
RELEVANT_EVENTS = ("ObjectCreated:", "ObjectRemoved:", "LifecycleExpiration:")
MAX_KEY_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Change:
    """An object that changed; the event only says *where* to look, never what is true."""

    bucket: str
    key: str
    event_name: str


@dataclass(slots=True)
class Parsed:
    changes: list[Change] = field(default_factory=list)
    skipped: int = 0

    def skip(self, reason: str, **fields: Any) -> None:
        self.skipped += 1
        log.info("skipped event record", extra={"reason": reason, **fields})


def _s3_records(message: Any, parsed: Parsed) -> Iterator[Mapping[str, Any]]:
    if not isinstance(message, Mapping):
        parsed.skip("message is not an object")
        return
    if message.get("Event") == "s3:TestEvent":
        parsed.skip("s3:TestEvent")
        return
    records = message.get("Records")
    if not isinstance(records, list):
        parsed.skip("message has no Records")
        return
    for record in records:
        if isinstance(record, Mapping):
            yield record
        else:
            parsed.skip("record is not an object")


def _change(record: Mapping[str, Any], parsed: Parsed) -> Change | None:
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith(RELEVANT_EVENTS):
        parsed.skip("event type not handled", event_name=str(name)[:100])
        return None
    s3 = record.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, Mapping) else None
    obj = s3.get("object") if isinstance(s3, Mapping) else None
    bucket_name = bucket.get("name") if isinstance(bucket, Mapping) else None
    raw_key = obj.get("key") if isinstance(obj, Mapping) else None
    if not isinstance(bucket_name, str) or not isinstance(raw_key, str):
        parsed.skip("record lacks bucket or key", event_name=name)
        return None
    key = unquote_plus(raw_key)
    if not key or len(key) > MAX_KEY_LENGTH:
        parsed.skip("key is empty or too long", event_name=name)
        return None
    return Change(bucket=bucket_name, key=key, event_name=name)


def _messages(event: Any, parsed: Parsed) -> Iterator[Any]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        parsed.skip("event has no Records")
        return
    for record in records:
        if not isinstance(record, Mapping):
            parsed.skip("record is not an object")
            continue
        sns = record.get("Sns")
        if isinstance(sns, Mapping):
            try:
                yield json.loads(sns.get("Message") or "")
            except (TypeError, ValueError):
                parsed.skip("SNS message is not JSON")
        elif "s3" in record:  # S3 notifying the Lambda directly, without SNS
            yield {"Records": [record]}
        else:
            parsed.skip("record is neither SNS nor S3")


def parse(event: Any) -> Parsed:
    """Every object change named by an SNS-wrapped (or direct) S3 event."""
    parsed = Parsed()
    for message in _messages(event, parsed):
        for record in _s3_records(message, parsed):
            change = _change(record, parsed)
            if change is not None:
                parsed.changes.append(change)
    return parsed
