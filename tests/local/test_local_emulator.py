"""The embedded moto wiring: bucket → SNS topic → SQS queue → poller → reindex handler."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.config import Config
from support.localserver import aws_client, wait_for

from serverless_pypi.local.serve import Options, Running, start


class FakeApi:
    def __init__(self, settings: Any) -> None:
        pass

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": "fake"}


class LookingReindex:
    """Looks at each object when its event arrives, as a real reindex handler would."""

    last: LookingReindex | None = None

    def __init__(self, settings: Any) -> None:
        self.s3 = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.region,
            config=Config(s3={"addressing_style": "path"}),
        )
        self.bucket = settings.bucket
        self.seen: list[tuple[str, str, dict[str, Any] | None]] = []
        self.tests = 0
        LookingReindex.last = self

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            message = json.loads(json.loads(record["body"])["Message"])  # SNS envelope
            if message.get("Event") == "s3:TestEvent":
                self.tests += 1
            for s3_record in message.get("Records", []):
                key = unquote_plus(s3_record["s3"]["object"]["key"])
                try:
                    head = self.s3.head_object(Bucket=self.bucket, Key=key)
                except self.s3.exceptions.ClientError:
                    head = None
                self.seen.append((s3_record["eventName"], key, head))
        return {"batchItemFailures": []}

    def rebuild_all(self) -> object:
        return None


@pytest.fixture
def running() -> Iterator[Running]:
    run = start(
        Options(port=0, ephemeral=True),
        api_factory=FakeApi,
        reindex_factory=LookingReindex,
        out=io.StringIO(),
    )
    yield run
    run.stop()


def test_bucket_topic_and_subscription_are_wired_like_the_module(running: Running) -> None:
    s3, sns = aws_client(running.s3_endpoint_url), aws_client(running.s3_endpoint_url, "sns")
    config = s3.get_bucket_notification_configuration(Bucket=running.bucket)
    (topic_config,) = config["TopicConfigurations"]
    assert set(topic_config["Events"]) == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    topic_arn = topic_config["TopicArn"]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{running.bucket}"
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    sqs = aws_client(running.s3_endpoint_url, "sqs")
    queue_url = sqs.get_queue_url(QueueName="serverless-pypi-reindex")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("sqs", queue["QueueArn"])
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":serverless-pypi-reindex-failures")
    assert int(redrive["maxReceiveCount"]) == 5
    # Switching notifications on published an s3:TestEvent, which reached the handler.
    reindex = LookingReindex.last
    assert reindex is not None
    wait_for(lambda: reindex.tests == 1, what="the s3:TestEvent handled")


def test_handler_sees_the_finished_object_at_event_time(running: Running) -> None:
    s3 = aws_client(running.s3_endpoint_url)
    reindex = LookingReindex.last
    assert reindex is not None

    def seen() -> list[tuple[str, str]]:
        return [(name, key) for name, key, _ in reindex.seen if not key.startswith(".index/")]

    s3.put_object(
        Bucket=running.bucket,
        Key="My_Pkg/my_pkg-1.0-py3-none-any.whl",
        Body=b"w",
        ContentType="application/zip",
        Metadata={"yanked": "no"},
    )
    wait_for(lambda: len(seen()) == 1, what="the put handled")
    s3.copy_object(
        Bucket=running.bucket,
        Key="My_Pkg/copy.whl",
        CopySource={"Bucket": running.bucket, "Key": "My_Pkg/my_pkg-1.0-py3-none-any.whl"},
    )
    wait_for(lambda: len(seen()) == 2, what="the copy handled")
    s3.delete_object(Bucket=running.bucket, Key="My_Pkg/copy.whl")
    wait_for(lambda: len(seen()) == 3, what="the delete handled")
    assert seen() == [
        ("ObjectCreated:Put", "My_Pkg/my_pkg-1.0-py3-none-any.whl"),
        ("ObjectCreated:Copy", "My_Pkg/copy.whl"),
        ("ObjectRemoved:Delete", "My_Pkg/copy.whl"),
    ]
    head = reindex.seen[0][2]
    assert head is not None
    assert head["ContentType"] == "application/zip"  # moto alone would say binary/octet-stream
    assert head["Metadata"] == {"yanked": "no"}
    assert reindex.seen[2][2] is None  # gone when the delete event arrives


def test_stop_unsubscribes_and_frees_the_ports(running: Running) -> None:
    sns = aws_client(running.s3_endpoint_url, "sns")
    topic_arn = sns.list_topics()["Topics"][0]["TopicArn"]
    emulator = running.emulator
    running.stop()
    assert emulator.subscription_arn == ""
    with pytest.raises(Exception):  # noqa: B017 (any connection error)
        sns.list_subscriptions_by_topic(TopicArn=topic_arn)
