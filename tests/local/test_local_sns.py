"""The local SNS subscriber: message types, the Lambda SNS event shape, mirroring order."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from serverless_pypi.local.sns import SnsEndpoint, lambda_event, object_keys

TOPIC = "arn:aws:sns:us-east-1:123456789012:serverless-pypi-bucket-events"
SUBSCRIPTION = TOPIC + ":0f0e0d0c"


def s3_event(*records: tuple[str, str], bucket: str = "pypi") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2025-01-01T00:00:00.000",
                    "eventName": name,
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {"name": bucket},
                        "object": {"key": key, "size": 1},
                    },
                }
                for name, key in records
            ]
        }
    )


def notification(message: str, **extra: Any) -> bytes:
    body = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": "2025-01-01T00:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "c2ln",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        **extra,
    }
    return json.dumps(body).encode()


class Calls:
    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.fail_reindex = False

    def reindex(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.log.append(("reindex", event))
        assert context.get_remaining_time_in_millis() > 0
        if self.fail_reindex:
            raise RuntimeError("boom")
        return {}

    def mirror(self, key: str) -> None:
        self.log.append(("mirror", key))


@pytest.fixture
def calls() -> Calls:
    return Calls()


def endpoint(calls: Calls, netloc: str = "127.0.0.1:5000") -> SnsEndpoint:
    return SnsEndpoint(
        bucket="pypi",
        topic_arn=TOPIC,
        subscription_arn=SUBSCRIPTION,
        reindex=calls.reindex,
        mirror=calls.mirror,
        confirm_netloc=netloc,
    )


def test_notification_becomes_the_lambda_sns_event(calls: Calls) -> None:
    message = s3_event(("ObjectCreated:Put", "My_Pkg/a+b%2B1.0.whl"))
    status, _ = endpoint(calls).handle(notification(message))
    assert status == 200
    assert calls.log[0] == ("mirror", "My_Pkg/a b+1.0.whl")  # unquote_plus, before reindex
    kind, event = calls.log[1]
    assert kind == "reindex"
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == SUBSCRIPTION
    sns = record["Sns"]
    assert sns["Type"] == "Notification"
    assert sns["Message"] == message
    assert sns["TopicArn"] == TOPIC
    assert sns["MessageId"] == "m-1"
    assert sns["Subject"] is None
    assert sns["SigningCertUrl"].startswith("https://")
    assert sns["UnsubscribeUrl"].startswith("https://")
    assert sns["MessageAttributes"] == {}
    assert set(sns) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    }


def test_test_events_and_malformed_messages_still_reach_the_handler(calls: Calls) -> None:
    ep = endpoint(calls)
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "pypi"})
    for message in (test_event, "not json", json.dumps({"Records": "x"})):
        assert ep.handle(notification(message))[0] == 200
    assert [kind for kind, _ in calls.log] == ["reindex"] * 3  # nothing to mirror


def test_only_created_and_removed_objects_of_our_bucket_are_mirrored() -> None:
    message = s3_event(
        ("ObjectCreated:Copy", "a/x.whl"),
        ("ObjectRemoved:Delete", ".index/r"),
        ("ObjectTagging:Put", "a/y.whl"),
    )
    assert object_keys(message, "pypi") == ["a/x.whl", ".index/r"]
    assert object_keys(s3_event(("ObjectCreated:Put", "a/x.whl"), bucket="other"), "pypi") == []


def test_reindex_failure_is_a_500(calls: Calls) -> None:
    calls.fail_reindex = True
    status, text = endpoint(calls).handle(notification(s3_event()))
    assert status == 500 and "boom" not in text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"Message": "x"}',
        json.dumps({"Type": "Notification", "TopicArn": TOPIC}).encode(),
        json.dumps({"Type": "Notification", "TopicArn": TOPIC, "Message": 5}).encode(),
        json.dumps({"Type": "Surprise", "TopicArn": TOPIC}).encode(),
        notification(s3_event(("ObjectCreated:Put", "a/b.whl")), TopicArn=TOPIC + "-other"),
    ],
)
def test_garbage_is_a_400_and_calls_nothing(calls: Calls, body: bytes) -> None:
    status, _ = endpoint(calls).handle(body)
    assert status == 400
    assert calls.log == []


class _Confirmations(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 (test-local recorder)

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_moto() -> Iterator[HTTPServer]:
    _Confirmations.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Confirmations)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_subscription_confirmation_is_fetched_only_from_our_moto(
    calls: Calls, fake_moto: HTTPServer
) -> None:
    netloc = f"127.0.0.1:{fake_moto.server_address[1]}"
    ep = endpoint(calls, netloc)
    confirm = {
        "Type": "SubscriptionConfirmation",
        "TopicArn": TOPIC,
        "Token": "t",
        "SubscribeURL": f"http://{netloc}/?Action=ConfirmSubscription&Token=t",
    }
    assert ep.handle(json.dumps(confirm).encode())[0] == 200
    assert _Confirmations.hits == ["/?Action=ConfirmSubscription&Token=t"]

    for url in (
        "http://169.254.169.254/latest/meta-data/",
        f"https://{netloc}/",
        f"http://{netloc}.evil.test/",
        "file:///etc/passwd",
        None,
    ):
        foreign = {**confirm, "SubscribeURL": url}
        assert ep.handle(json.dumps(foreign).encode())[0] == 403
    assert len(_Confirmations.hits) == 1
    assert calls.log == []


def test_lambda_event_keeps_subject_and_attributes() -> None:
    attrs = {"a": {"Type": "String", "Value": "1"}}
    event = lambda_event({"Message": "m", "Subject": "s", "MessageAttributes": attrs}, "arn")
    assert event["Records"][0]["Sns"]["Subject"] == "s"
    assert event["Records"][0]["Sns"]["MessageAttributes"] == attrs


# -- deliveries: the S3 request that caused a notification waits for it only briefly ----------


def test_a_quick_delivery_answers_with_its_own_result() -> None:
    from serverless_pypi.local.deliveries import Deliveries

    deliveries = Deliveries(lambda body: (500, "reindex failed"), answer_within=5)
    assert deliveries.handle(b"{}") == (500, "reindex failed")
    deliveries.close(timeout=5)


def test_a_slow_delivery_is_answered_early_and_finishes_before_close() -> None:
    from serverless_pypi.local.deliveries import Deliveries

    release = threading.Event()
    finished: list[bytes] = []

    def slow(body: bytes) -> tuple[int, str]:
        release.wait(10)
        finished.append(body)
        return 200, "ok"

    deliveries = Deliveries(slow, answer_within=0.05)
    assert deliveries.handle(b"one") == (200, "accepted")
    assert finished == []  # still running after the answer
    threading.Timer(0.2, release.set).start()
    deliveries.close(timeout=10)
    assert finished == [b"one"]
