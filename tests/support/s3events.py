"""S3 notifications wrapped in SNS, as the reindex Lambda receives them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus


def s3_record(bucket: str, key: str, event: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": event,
        "eventTime": "2026-11-21T10:00:00.000Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": 1}},
    }


def sns_event(*messages: Any) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "TopicArn": "arn:aws:sns:us-east-1:1:t",
                    "Message": m if isinstance(m, str) else json.dumps(m),
                },
            }
            for m in messages
        ]
    }


def s3_event(bucket: str, *keys: str, event: str = "ObjectCreated:Put") -> dict[str, Any]:
    return sns_event({"Records": [s3_record(bucket, k, event) for k in keys]})


def handle_concurrently(
    make_handler: Callable[[], Callable[[dict[str, Any]], object]],
    events: list[dict[str, Any]],
    *,
    threads: int = 4,
    between: Callable[[int], object] | None = None,
) -> None:
    """Handle ``events`` on ``threads`` threads at once (event i on thread i % threads), each
    with its own handler from ``make_handler``, as concurrent Lambda containers would;
    ``between(n)`` runs before each thread's n-th event. Re-raises the first error met."""
    errors: list[BaseException] = []

    def worker(chunk: list[dict[str, Any]]) -> None:
        handle = make_handler()
        try:
            for n, event in enumerate(chunk):
                if between is not None:
                    between(n)
                handle(event)
        except BaseException as exc:
            errors.append(exc)

    running = [threading.Thread(target=worker, args=(events[i::threads],)) for i in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    if errors:
        raise errors[0]


def sns_envelope(message: Any) -> str:
    """The body SNS puts in an SQS queue (raw message delivery off) for ``message``."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "m",
            "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Message": message if isinstance(message, str) else json.dumps(message),
        }
    )


def sqs_event(*bodies: str, ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS batch as the event source mapping hands it to the function."""
    return {
        "Records": [
            {
                "messageId": ids[i] if ids else f"msg-{i}",
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
            }
            for i, body in enumerate(bodies)
        ]
    }


def s3_body(bucket: str, *keys: str, event: str = "ObjectCreated:Put") -> str:
    """One SQS message body: the SNS envelope of an S3 event naming ``keys``."""
    return sns_envelope({"Records": [s3_record(bucket, k, event) for k in keys]})
