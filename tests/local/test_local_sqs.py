"""The local event source mapping: the reindex queue in moto server, polled in batches, with
partial batch failures retried and redriven to the dead-letter queue after N receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from serverless_pypi.local.context import LocalContext
from serverless_pypi.local.emulator import Emulator
from serverless_pypi.local.sqs import QueuePoller, envelope_keys, failed_ids, object_keys


def s3_event(*records: tuple[str, str], bucket: str = "pypi") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": name,
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}},
                }
                for name, key in records
            ]
        }
    )


def test_only_created_and_removed_objects_of_our_bucket_are_mirrored() -> None:
    message = s3_event(
        ("ObjectCreated:Copy", "a/x.whl"),
        ("ObjectRemoved:Delete", ".index/r"),
        ("ObjectTagging:Put", "a/y.whl"),
        ("ObjectCreated:Put", "My_Pkg/a+b%2B1.0.whl"),
    )
    assert object_keys(message, "pypi") == ["a/x.whl", ".index/r", "My_Pkg/a b+1.0.whl"]
    assert object_keys(s3_event(("ObjectCreated:Put", "a/x.whl"), bucket="other"), "pypi") == []
    envelope = json.dumps({"Type": "Notification", "Message": message})
    assert envelope_keys(envelope, "pypi") == object_keys(message, "pypi")
    assert envelope_keys("not json", "pypi") == envelope_keys("[]", "pypi") == []


def test_a_response_naming_strangers_fails_the_whole_batch() -> None:
    batch = [{"MessageId": "a"}, {"MessageId": "b"}]
    assert failed_ids({"batchItemFailures": []}, batch) == set()
    assert failed_ids(None, batch) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, batch) == {"b"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, batch) == {"a", "b"}
    assert failed_ids({"batchItemFailures": "all"}, batch) == {"a", "b"}


class Recorder:
    """A reindex handler that records its batches and fails the messages it is told to."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail_bodies: set[str] = set()
        self.raise_next = False
        self.mirrored: list[str] = []
        self.handled = threading.Event()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert isinstance(context, LocalContext)
        records = event["Records"]
        self.batches.append(records)
        self.handled.set()
        if self.raise_next:
            self.raise_next = False
            raise RuntimeError("boom")
        failed = [r["messageId"] for r in records if r["body"] in self.fail_bodies]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emulator = Emulator("pypi-sqs-test")
    emulator.start()
    yield emulator
    emulator.stop()


def poller_for(emulator: Emulator, recorder: Recorder, **options: Any) -> QueuePoller:
    url, arn = emulator.subscribe_queue(max_receives=2)
    return QueuePoller(
        emulator.sqs,
        url,
        arn,
        recorder.handle,
        bucket=emulator.bucket,
        mirror=recorder.mirrored.append,
        **options,
    )


def queue_depth(emulator: Emulator, url: str) -> int:
    attributes = emulator.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_s3_events_arrive_as_one_batch_of_sns_envelopes(emulator: Emulator) -> None:
    recorder = Recorder()
    poller = poller_for(emulator, recorder, batch_size=25, window=1.0)
    emulator.notify()
    keys = [f"p{i}/p{i}-1.0.tar.gz" for i in range(12)]
    for key in keys:
        emulator.s3.put_object(Bucket=emulator.bucket, Key=key, Body=b"x")
    batch = poller.gather()
    batch += poller.gather(wait=0)
    # The s3:TestEvent and the twelve uploads, in at most two batches of the window.
    assert len(batch) == 13
    assert poller.deliver(batch) == set()
    (records,) = recorder.batches  # one handler call for everything gathered
    assert {r["eventSource"] for r in records} == {"aws:sqs"}
    assert json.loads(records[0]["body"])["Type"] == "Notification"
    assert sorted(recorder.mirrored) == sorted(keys)  # mirrored before the handler ran
    assert queue_depth(emulator, poller.queue_url) == 0


def test_failed_messages_are_retried_then_redriven(emulator: Emulator) -> None:
    recorder = Recorder()
    poller = poller_for(emulator, recorder, retry_after=0)
    sqs = emulator.sqs
    for body in ("good", "bad"):
        sqs.send_message(QueueUrl=poller.queue_url, MessageBody=body)
    recorder.fail_bodies = {"bad"}
    assert len(poller.deliver(poller.gather())) == 1
    # Only the failed one comes back; failing again, it moves to the dead-letter queue.
    retried = poller.gather()
    assert [m["Body"] for m in retried] == ["bad"]
    assert retried[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    poller.deliver(retried)
    assert poller.gather(wait=1) == []
    dead = sqs.receive_message(QueueUrl=emulator.dead_letter_queue_url, WaitTimeSeconds=1)
    assert [m["Body"] for m in dead["Messages"]] == ["bad"]


def test_a_handler_that_raises_fails_the_whole_batch(emulator: Emulator) -> None:
    recorder = Recorder()
    poller = poller_for(emulator, recorder, retry_after=0)
    emulator.sqs.send_message(QueueUrl=poller.queue_url, MessageBody="one")
    recorder.raise_next = True
    assert len(poller.deliver(poller.gather())) == 1
    assert poller.deliver(poller.gather()) == set()  # the retry succeeds
    assert [len(b) for b in recorder.batches] == [1, 1]


def test_the_poller_thread_delivers_until_stopped(emulator: Emulator) -> None:
    recorder = Recorder()
    poller = poller_for(emulator, recorder)
    poller.start()
    try:
        emulator.sqs.send_message(QueueUrl=poller.queue_url, MessageBody="hello")
        assert recorder.handled.wait(10)
    finally:
        poller.stop()
    assert recorder.batches[0][0]["body"] == "hello"
    assert queue_depth(emulator, poller.queue_url) == 0  # deleted before the poller stopped
