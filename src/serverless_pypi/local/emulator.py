"""The embedded moto server and the AWS wiring around the bucket: bucket → SNS topic → SQS.

This mirrors what the Terraform module creates (bucket notification on ObjectCreated/Removed to
a topic whose policy lets S3 publish, a queue subscribed to it that redrives to a dead-letter
queue); the local server's poller (``sqs.QueuePoller``) stands in for the event source mapping.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.config import Config

from serverless_pypi.layout import INDEX_PREFIX

log = logging.getLogger("serverless_pypi.local")

TOPIC_NAME = "serverless-pypi-bucket-events"
QUEUE_NAME = "serverless-pypi-reindex"
DEAD_LETTER_QUEUE_NAME = "serverless-pypi-reindex-failures"
EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
#: moto accepts any credentials; our own admin clients never use the environment's.
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


_pending = threading.local()
_send_event: Callable[..., None] | None = None  # moto's own, once patched


def _defer_s3_notifications() -> None:
    """Make moto send S3 events after the request that caused them, not in the middle of it.

    moto notifies inside ``put_object`` *before* it sets the object's Content-Type and user
    metadata, so a subscriber that looks at the object sees it half-written (AWS notifies
    about the finished object). Inside requests wrapped by ``_AfterRequest`` events are queued
    and sent once moto's handler has returned, still before the client gets its response; the
    patch changes nothing for any other use of moto in the process (``mock_aws``).
    """
    global _send_event
    from moto.s3 import notifications

    if _send_event is not None:
        return
    _send_event = notifications.send_event

    def send_event(*args: Any, **kwargs: Any) -> None:
        queue = getattr(_pending, "events", None)
        if queue is None:
            assert _send_event is not None
            _send_event(*args, **kwargs)
        else:
            queue.append((args, kwargs))

    notifications.send_event = send_event


#: The ``X-Amz-Target`` prefix of every Cognito user pools request.
COGNITO_TARGET = "AWSCognitoIdentityProviderService."


def _about_a_source_object(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a queued ``send_event`` call is about an object outside ``.index/`` (the
    reindexer's own writes notify too, and must not wait for the reindexer)."""
    key = kwargs.get("key", args[3] if len(args) > 3 else None)
    return not str(getattr(key, "name", "")).startswith(INDEX_PREFIX)


class _AfterRequest:
    """WSGI middleware: flush the S3 events queued while moto handled this request (then run
    the hooks for requests that notified about source objects), and run the hooks for
    Cognito requests (they save the users; see ``cognito.UserStore``)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.after_cognito: list[Callable[[], None]] = []
        self.after_s3_events: list[Callable[[], None]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        _pending.events = []
        try:
            result = self.app(environ, start_response)
        finally:
            queued, _pending.events = _pending.events, None
        for args, kwargs in queued:
            assert _send_event is not None
            _send_event(*args, **kwargs)
        if any(_about_a_source_object(args, kwargs) for args, kwargs in queued):
            for hook in list(self.after_s3_events):
                hook()
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(COGNITO_TARGET):
            for hook in list(self.after_cognito):
                hook()
        return result


class Emulator:
    """moto S3 + SNS (+ Cognito for ``serve --auth``) on 127.0.0.1 in this process, and the
    clients that configure it."""

    def __init__(self, bucket: str = "pypi", region: str = "us-east-1", port: int = 0) -> None:
        self.bucket = bucket
        self.region = region
        self.port = port  # 0: a free one
        self.endpoint_url = ""
        self.topic_arn = ""
        self.subscription_arn = ""
        self.dead_letter_queue_url = ""
        self._server: Any = None
        self._middleware: _AfterRequest | None = None
        self.s3: Any = None
        self.sns: Any = None
        self.sqs: Any = None
        self.cognito: Any = None

    def start(self) -> str:
        """Start moto on its loopback port and create the bucket; return the endpoint URL.
        ``OSError`` (EADDRINUSE) when the port is taken."""
        from moto.server import ThreadedMotoServer  # heavy import, only needed here

        if self.port:
            # moto binds in its own thread and, when that fails, waits for ever: bind here first.
            probe = socket.socket()
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with probe:
                probe.bind(("127.0.0.1", self.port))

        # werkzeug logs every request line (presigned URLs with their signatures) at INFO.
        quiet = logging.getLogger("werkzeug")
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        _defer_s3_notifications()
        wsgi_server = self._server._server  # werkzeug's server; its handlers call .app
        self._middleware = wsgi_server.app = _AfterRequest(wsgi_server.app)
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        common: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            **DUMMY_CREDENTIALS,
        }
        self.s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **common)
        self.sns = boto3.client("sns", **common)
        self.sqs = boto3.client("sqs", **common)
        self.cognito = boto3.client("cognito-idp", **common)
        params: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with contextlib.suppress(self.s3.exceptions.BucketAlreadyOwnedByYou):
            self.s3.create_bucket(**params)
        return self.endpoint_url

    def subscribe_queue(self, max_receives: int) -> tuple[str, str]:
        """Create the topic (its policy admits S3), the reindex queue (redriving to a
        dead-letter queue after ``max_receives`` receives) and its subscription (SNS
        envelopes, as the module's); returns the queue's URL and ARN."""
        self.topic_arn = self.sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowBucketNotifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "SNS:Publish",
                    "Resource": self.topic_arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{self.bucket}"}},
                }
            ],
        }
        self.sns.set_topic_attributes(
            TopicArn=self.topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy)
        )
        dead_url = self.sqs.create_queue(QueueName=DEAD_LETTER_QUEUE_NAME)["QueueUrl"]
        dead_arn = self._queue_arn(dead_url)
        redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(max_receives)}
        url = self.sqs.create_queue(
            QueueName=QUEUE_NAME, Attributes={"RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        arn = self._queue_arn(url)
        response = self.sns.subscribe(
            TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True
        )
        self.subscription_arn = response["SubscriptionArn"]
        self.dead_letter_queue_url = dead_url
        return url, arn

    def _queue_arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def notify(self) -> None:
        """Turn on the bucket notification (moto then publishes an ``s3:TestEvent`` at once)."""
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={
                "TopicConfigurations": [
                    {"Id": "reindex", "TopicArn": self.topic_arn, "Events": EVENTS}
                ]
            },
        )

    def after_s3_events(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` after each request that notified about an object outside
        ``.index/``, before its response is sent."""
        assert self._middleware is not None, "start() first"
        self._middleware.after_s3_events.append(hook)

    def after_cognito_requests(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` after each Cognito request, before its response is sent."""
        assert self._middleware is not None, "start() first"
        self._middleware.after_cognito.append(hook)

    def stop(self) -> None:
        """Unsubscribe, drop moto's in-process state and stop the server; safe to call twice."""
        if self._server is None:
            return
        if self.subscription_arn:
            # A dead subscriber could block delivery to later subscribers in moto.
            with contextlib.suppress(Exception):
                self.sns.unsubscribe(SubscriptionArn=self.subscription_arn)
            self.subscription_arn = ""
        # moto's backends are process-global: reset them so a later start in this process
        # begins empty, like a new process would.
        reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with contextlib.suppress(OSError), urllib.request.urlopen(reset, timeout=10):  # noqa: S310
            pass
        self._server.stop()
        self._server = None
