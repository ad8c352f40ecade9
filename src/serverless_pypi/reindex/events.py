"""Event intake: S3 event notifications as the reindex Lambda receives them (wrapped in SNS,
and for an SQS batch in one message body each), and which of the keys they name are
distributions to look at.

Parsing never raises: every record either yields a change or is counted as skipped with a
logged reason, so one bad record cannot fail the batch.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from serverless_pypi import catalog, layout, names
from serverless_pypi.reindex import status_marks

log = logging.getLogger(__name__)

#: Event families that can change what the bucket serves.
RELEVANT_EVENTS = ("ObjectCreated:", "ObjectRemoved:", "LifecycleExpiration:")
MAX_KEY_LENGTH = 1024
#: An S3 notification nests five levels deep; a message nested deeper than this is not one,
#: and decoding it could exhaust the interpreter's recursion limit.
MAX_MESSAGE_NESTING = 32
#: What a nesting check looks at: brackets, and what starts and escapes a string.
_SPECIAL = re.compile(r'[\[\]{}"\\]')


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


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than ``limit``. One pass
    over its brackets, quotes and backslashes, without recursion: safe on any input."""
    depth = 0
    in_string = False
    escaped = -1  # the position of a character a backslash escapes
    for match in _SPECIAL.finditer(text):
        char, position = match.group(), match.start()
        if position == escaped:
            continue
        if in_string:
            if char == "\\":
                escaped = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


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


def _sns_message(raw: Any, parsed: Parsed) -> Iterator[Any]:
    if not isinstance(raw, str):
        parsed.skip("SNS message is not JSON")
    elif nested_deeper_than(raw, MAX_MESSAGE_NESTING):
        parsed.skip("SNS message is nested too deeply")
    else:
        try:
            yield json.loads(raw)
        except ValueError:
            parsed.skip("SNS message is not JSON")


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
            yield from _sns_message(sns.get("Message") or "", parsed)
        elif "s3" in record:  # S3 notifying the Lambda directly, without SNS
            yield {"Records": [record]}
        else:
            parsed.skip("record is neither SNS nor S3")


def _collect(messages: Iterable[Any], parsed: Parsed) -> Parsed:
    for message in messages:
        for record in _s3_records(message, parsed):
            change = _change(record, parsed)
            if change is not None:
                parsed.changes.append(change)
    return parsed


def decode_body(body: Any, parsed: Parsed) -> Any:
    """An SQS message body as JSON; None (counted as skipped) when it is not JSON."""
    return next(_sns_message(body, parsed), None)


def parse_body(message: Any) -> Parsed:
    """Every object change named by one decoded SQS message body: the SNS envelope that SNS
    sends to a queue, or (with raw message delivery) the S3 event itself."""
    parsed = Parsed()
    if isinstance(message, Mapping) and message.get("Type") == "Notification":
        return _collect(_sns_message(message.get("Message") or "", parsed), parsed)
    return _collect([message], parsed)


def parse(event: Any) -> Parsed:
    """Every object change named by an SNS-wrapped (or direct) S3 event."""
    parsed = Parsed()
    return _collect(_messages(event, parsed), parsed)


def distribution_of(change: Change, bucket: str) -> names.DistributionKey | None:
    """The distribution key to look at for ``change``: its own key, or for a yank marker
    the key the marker is about; None for other buckets, derived data and non-distributions."""
    if change.bucket != bucket:
        log.warning("event for another bucket", extra={"event_bucket": change.bucket[:100]})
        return None
    key = change.key
    yanked = layout.yanked_target(key)
    if yanked is not None:
        key = yanked  # a yank marker changed: look at the file it is about
    elif layout.is_reserved_key(key):
        log.debug("event about derived data or the upstream cache", extra={"key": key})
        return None
    location = names.parse_key(key)
    if location is None:
        catalog.report_ignored(key, "not a distribution of a valid project")
    return location


def keys_by_project(parsed: Parsed, bucket: str) -> dict[str, set[str]]:
    """The distribution keys the changes in ``parsed`` name, by project; every other change
    is counted as skipped."""
    by_project: dict[str, set[str]] = defaultdict(set)
    for change in parsed.changes:
        marked = status_marks.project_of(change.key) if change.bucket == bucket else None
        if marked is not None:  # a status marker: its project reads it (status_marks.split)
            by_project[marked].add(change.key)
            continue
        location = distribution_of(change, bucket)
        if location is None:
            parsed.skipped += 1
        else:
            by_project[location.project].add(location.key)
    return dict(by_project)
