"""The SNS HTTP subscriber: SNS messages in, Lambda SNS events out to the reindex handler.

moto posts each notification as the JSON body SNS sends to HTTP endpoints and, unlike AWS, never
sends ``x-amz-sns-*`` headers or a ``SubscriptionConfirmation``; we dispatch on the body's
``Type`` and handle both, so the same code would work behind a real topic.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from serverless_pypi.local.context import LocalContext

log = logging.getLogger("serverless_pypi.local")

#: SNS caps a message at 256 KiB; the JSON envelope adds a little.
MAX_MESSAGE_BYTES = 1024 * 1024

Handler = Callable[[dict[str, Any], Any], Any]
Mirror = Callable[[str], None]


def lambda_event(message: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The event Lambda receives for one SNS delivery (field names differ from the HTTP body)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message.get("MessageId", ""),
                    "TopicArn": message.get("TopicArn", ""),
                    "Subject": message.get("Subject"),
                    "Message": message["Message"],
                    "Timestamp": message.get("Timestamp", ""),
                    "SignatureVersion": message.get("SignatureVersion", "1"),
                    "Signature": message.get("Signature", ""),
                    "SigningCertUrl": message.get("SigningCertURL", ""),
                    "UnsubscribeUrl": message.get("UnsubscribeURL", ""),
                    "MessageAttributes": message.get("MessageAttributes") or {},
                },
            }
        ]
    }


def object_keys(s3_event_json: str, bucket: str) -> list[str]:
    """Keys of created/removed objects of ``bucket`` in an S3 event (decoded, in order)."""
    try:
        event = json.loads(s3_event_json)
    except ValueError:
        return []
    records = event.get("Records") if isinstance(event, dict) else None
    keys: list[str] = []
    for record in records if isinstance(records, list) else []:
        try:
            name = record["eventName"]
            s3 = record["s3"]
            if record.get("eventSource") != "aws:s3" or s3["bucket"]["name"] != bucket:
                continue
            key = s3["object"]["key"]
        except (KeyError, TypeError):
            continue
        wanted = isinstance(name, str) and name.startswith(("ObjectCreated:", "ObjectRemoved:"))
        if wanted and isinstance(key, str) and key:
            keys.append(unquote_plus(key))  # S3 events carry quote_plus-encoded keys
    return keys


class SnsEndpoint:
    """Handles POSTs from one SNS subscription to the local server."""

    def __init__(
        self,
        *,
        bucket: str,
        topic_arn: str,
        subscription_arn: str,
        reindex: Handler,
        mirror: Mirror | None,
        confirm_netloc: str,
        region: str = "us-east-1",
    ) -> None:
        self.bucket = bucket
        self.topic_arn = topic_arn
        self.subscription_arn = subscription_arn
        self.reindex = reindex
        self.mirror = mirror
        self.confirm_netloc = confirm_netloc
        self.region = region

    def handle(self, body: bytes) -> tuple[int, str]:
        """Return ``(status, short text)``; never raises."""
        try:
            message = json.loads(body)
        except ValueError:
            return 400, "not a JSON SNS message"
        if not isinstance(message, dict) or not isinstance(message.get("Type"), str):
            return 400, "not an SNS message"
        kind = message["Type"]
        if message.get("TopicArn") != self.topic_arn:
            log.warning("sns message from an unexpected topic", extra={"sns_type": kind})
            return 400, "unexpected topic"
        if kind == "Notification":
            return self._notification(message)
        if kind == "SubscriptionConfirmation":
            return self._confirm(message)
        if kind == "UnsubscribeConfirmation":
            return 200, "ignored"
        return 400, "unsupported SNS message type"

    def _notification(self, message: dict[str, Any]) -> tuple[int, str]:
        if not isinstance(message.get("Message"), str):
            return 400, "notification without a Message"
        mirrored = True
        if self.mirror is not None:
            # Before reindexing, so the derived objects the handler writes are mirrored after
            # the source object they describe.
            for key in object_keys(message["Message"], self.bucket):
                try:
                    self.mirror(key)
                except Exception:
                    mirrored = False
                    log.exception("could not mirror an object to the data directory")
        context = LocalContext(
            function_name="serverless-pypi-reindex", timeout_ms=300_000, region=self.region
        )
        try:
            self.reindex(lambda_event(message, self.subscription_arn), context)
        except Exception:
            log.exception("reindex failed", extra={"sns_message_id": message.get("MessageId")})
            return 500, "reindex failed"
        return (200, "ok") if mirrored else (500, "mirroring failed")

    def _confirm(self, message: dict[str, Any]) -> tuple[int, str]:
        url = message.get("SubscribeURL")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme != "http" or parts.netloc != self.confirm_netloc:
            log.warning("refused a subscription confirmation for a foreign endpoint")
            return 403, "confirmation URL is not the local SNS endpoint"
        assert isinstance(url, str)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (checked above)
                response.read()
        except OSError as exc:
            log.warning("subscription confirmation failed", extra={"error": type(exc).__name__})
            return 502, "confirmation failed"
        return 200, "confirmed"
