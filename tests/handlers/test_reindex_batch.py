"""SQS batches: a batch is one unit of work, and a failure names only the messages it
concerns (against in-process moto)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from typing import Any

import pytest
from support.s3events import s3_body, s3_record, sqs_event

from serverless_pypi import config, documents, layout
from serverless_pypi.errors import StoreUnavailable
from serverless_pypi.reindex import fanout
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.reindex.project import ProjectDocument, ProjectIndex
from serverless_pypi.storage import Bucket


def put(bucket: Bucket, key: str) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"x")


def root_projects(bucket: Bucket) -> list[str]:
    stored = bucket.get(layout.ROOT_JSON)
    return list(documents.load_root(stored[0])) if stored else []


@pytest.fixture
def app(settings: config.Settings, bucket: Bucket) -> ReindexApp:
    return ReindexApp(settings, bucket)


def count_writes(bucket: Bucket) -> Counter[str]:
    """PutObject calls by key, from now on."""
    writes: Counter[str] = Counter()
    bucket.client.meta.events.register(
        "before-parameter-build.s3.PutObject",
        lambda params, **_: writes.update([params["Key"]]),
    )
    return writes


def count_renders(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    renders: Counter[str] = Counter()
    original = ProjectDocument.render

    def counting(self: ProjectDocument, state: Any) -> Any:
        renders.update([self.project])
        return original(self, state)

    monkeypatch.setattr(ProjectDocument, "render", counting)
    return renders


def test_a_batch_is_one_unit(
    app: ReindexApp, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 messages over three projects: one document write and one render per project, one
    root write for the whole batch, and no failures."""
    keys = [f"p{i % 3}/p{i % 3}-1.{i}.tar.gz" for i in range(30)]
    for key in keys:
        put(bucket, key)
    writes, renders = count_writes(bucket), count_renders(monkeypatch)
    result = app.handle(sqs_event(*(s3_body(bucket.name, key) for key in keys)))
    assert result == {"batchItemFailures": []}
    assert root_projects(bucket) == ["p0", "p1", "p2"]
    assert writes[layout.ROOT_JSON] == 1
    assert all(writes[layout.project_doc_key(f"p{i}")] == 1 for i in range(3))
    assert renders == Counter({"p0": 1, "p1": 1, "p2": 1})
    files, _ = ProjectDocument(bucket, "p1").load()
    assert sorted(files) == sorted(k for k in keys if k.startswith("p1/"))


def test_raw_message_delivery_bodies_work_too(app: ReindexApp, bucket: Bucket) -> None:
    put(bucket, "raw/raw-1.0.tar.gz")
    body = json.dumps({"Records": [s3_record(bucket.name, "raw/raw-1.0.tar.gz")]})
    assert app.handle(sqs_event(body)) == {"batchItemFailures": []}
    assert root_projects(bucket) == ["raw"]


def test_duplicated_and_reordered_messages_converge(app: ReindexApp, bucket: Bucket) -> None:
    """The deletion's event arrives before the creation's, twice each: the bucket decides."""
    put(bucket, "a/a-1.0.tar.gz")
    put(bucket, "a/a-2.0.tar.gz")
    bucket.delete("a/a-1.0.tar.gz")
    removed = s3_body(bucket.name, "a/a-1.0.tar.gz", event="ObjectRemoved:Delete")
    created = s3_body(bucket.name, "a/a-1.0.tar.gz", "a/a-2.0.tar.gz")
    assert app.handle(sqs_event(removed, created, removed, created)) == {"batchItemFailures": []}
    files, _ = ProjectDocument(bucket, "a").load()
    assert list(files) == ["a/a-2.0.tar.gz"]
    assert root_projects(bucket) == ["a"]


HOSTILE_BODIES = [
    "",
    "not json",
    "[" * 100_000,
    json.dumps({"Type": "Notification", "Message": "{" * 50}),
    json.dumps({"Type": "Notification", "Message": json.dumps({"Records": "x"})}),
    json.dumps({"rebuild": ["a"]}),
    json.dumps({"rebuild": {"Not_Canonical": []}}),
    json.dumps({"rebuild": {"evil": ["other-project"]}}),
    json.dumps({"rebuild": {f"p{i}": [] for i in range(2000)}}),
    json.dumps({"Records": [s3_record("another-bucket", "x/x-1.0.tar.gz")]}),
    json.dumps({"Records": [s3_record("pypi-test", ".index/root.json")]}),
]


def test_hostile_messages_are_skipped_not_retried(app: ReindexApp, bucket: Bucket) -> None:
    put(bucket, "good/good-1.0.tar.gz")
    event = sqs_event(*HOSTILE_BODIES, s3_body(bucket.name, "good/good-1.0.tar.gz"))
    event["Records"].append({"body": s3_body(bucket.name, "good/good-1.0.tar.gz")})  # no id
    event["Records"].append("not a record")
    assert app.handle(event) == {"batchItemFailures": []}
    assert root_projects(bucket) == ["good"]
    assert bucket.get(layout.project_doc_key("evil")) is None


def test_a_failed_project_fails_only_its_messages(
    app: ReindexApp, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("ok/ok-1.0.tar.gz", "bad/bad-1.0.tar.gz"):
        put(bucket, key)
    original = ProjectIndex.update

    def failing(self: ProjectIndex, keys: Any) -> Any:
        if self.project == "bad":
            raise StoreUnavailable("S3 is down for this one", transient=True)
        return original(self, keys)

    monkeypatch.setattr(ProjectIndex, "update", failing)
    event = sqs_event(
        s3_body(bucket.name, "ok/ok-1.0.tar.gz"),
        s3_body(bucket.name, "bad/bad-1.0.tar.gz"),
        s3_body(bucket.name, "ok/ok-1.0.tar.gz", "bad/bad-1.0.tar.gz"),
        ids=["only-ok", "only-bad", "both"],
    )
    result = app.handle(event)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": "both"}, {"itemIdentifier": "only-bad"}]
    }
    assert root_projects(bucket) == ["ok"]
    monkeypatch.setattr(ProjectIndex, "update", original)
    # SQS redelivers just those two; they converge.
    redelivered = sqs_event(*(event["Records"][i]["body"] for i in (1, 2)))
    assert app.handle(redelivered) == {"batchItemFailures": []}
    assert root_projects(bucket) == ["bad", "ok"]


def test_a_root_that_cannot_be_written_fails_the_messages_that_need_it(
    app: ReindexApp, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(bucket, "a/a-1.0.tar.gz")

    def unavailable(*_: Any, **__: Any) -> Any:
        raise StoreUnavailable("root: too many concurrent updates", transient=True)

    monkeypatch.setattr(app.root, "reconcile", unavailable)
    event = sqs_event(s3_body(bucket.name, "a/a-1.0.tar.gz"), "junk", ids=["a", "junk"])
    assert app.handle(event) == {"batchItemFailures": [{"itemIdentifier": "a"}]}
    monkeypatch.undo()
    assert app.handle(event) == {"batchItemFailures": []}
    assert root_projects(bucket) == ["a"]


class ListQueue:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, bodies: list[str]) -> None:
        assert len(bodies) <= fanout.SEND_BATCH
        self.bodies.extend(bodies)

    def retry_soon(self, receipt_handles: list[str]) -> None:
        raise AssertionError("no message of these batches fails")


def test_a_full_rebuild_fans_out_over_the_queue(
    settings: config.Settings, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``{"reindex": "*"}`` with a queue: one message per 50 projects (with their spellings);
    the batches rebuild them, and a project with no objects left leaves the root."""
    monkeypatch.setattr(fanout, "PROJECTS_PER_MESSAGE", 7)
    for i in range(30):
        put(bucket, f"proj-{i:02d}/proj_{i:02d}-1.0.tar.gz")
    put(bucket, "Proj_03/proj_03-2.0.tar.gz")  # a second spelling of proj-03
    put(bucket, "gone/gone-1.0.tar.gz")
    queue = ListQueue()
    app = ReindexApp(settings, bucket, queue=queue)
    app.rebuild_project("gone")
    bucket.delete("gone/gone-1.0.tar.gz")
    assert app.handle({"reindex": "*"}) == {"projects": 31, "messages": 5}
    assert len(queue.bodies) == 5  # 31 projects, 7 a message
    assert json.loads(queue.bodies[0])["rebuild"]["proj-03"] == ["Proj_03", "proj-03"]
    for start in range(0, 5, 2):  # batches of two messages
        assert app.handle(sqs_event(*queue.bodies[start : start + 2])) == {"batchItemFailures": []}
    assert root_projects(bucket) == [f"proj-{i:02d}" for i in range(30)]
    files, _ = ProjectDocument(bucket, "proj-03").load()
    assert len(files) == 2
    assert ProjectDocument(bucket, "gone").load()[0] == {}


def test_a_verifying_rebuild_stays_in_one_invocation(
    settings: config.Settings, bucket: Bucket
) -> None:
    put(bucket, "a/a-1.0.tar.gz")
    queue = ListQueue()
    result = ReindexApp(settings, bucket, queue=queue).handle({"reindex": "*", "verify": True})
    assert queue.bodies == []
    assert result["projects"] == 1


def test_sqs_queue_sends_batches_through_sqs(settings: config.Settings, bucket: Bucket) -> None:
    """The real client path against moto's SQS: bodies arrive as sent."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="reindex")["QueueUrl"]
    fanout.SqsQueue(sqs, url).send(["one", "two"])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == ["one", "two"]
    with pytest.raises(StoreUnavailable):
        fanout.SqsQueue(sqs, url + "-missing").send(["three"])


def test_failed_messages_come_back_soon_not_after_the_visibility_timeout(
    settings: config.Settings, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed message's visibility is cut to ``RETRY_AFTER`` seconds (the queue's own timeout
    is six times the function's), through the same SQS client the fan-out uses."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="reindex", Attributes={"VisibilityTimeout": "720"})["QueueUrl"]
    put(bucket, "bad/bad-1.0.tar.gz")
    sqs.send_message(QueueUrl=url, MessageBody=s3_body(bucket.name, "bad/bad-1.0.tar.gz"))
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    monkeypatch.setattr(fanout, "RETRY_AFTER", 0)
    monkeypatch.setattr(
        ProjectIndex,
        "update",
        lambda *_: (_ for _ in ()).throw(StoreUnavailable("x", transient=True)),
    )
    app = ReindexApp(settings, bucket, queue=fanout.SqsQueue(sqs, url))
    event = sqs_event(message["Body"], ids=[message["MessageId"]])
    event["Records"][0]["receiptHandle"] = message["ReceiptHandle"]
    assert app.handle(event) == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    (again,) = sqs.receive_message(QueueUrl=url)["Messages"]  # visible at once, not in 12 min
    assert again["MessageId"] == message["MessageId"]


def test_a_costly_page_is_not_rendered_for_a_state_already_superseded(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer about to render a large page whose document moved on leaves it to the newer
    writer (which renders after its own write); small pages skip the extra HEAD."""
    renders = count_renders(monkeypatch)
    document = ProjectDocument(bucket, "big")
    put(bucket, "big/big-1.0.tar.gz")
    ProjectIndex(bucket, "big").update(["big/big-1.0.tar.gz"])
    old_state, old_etag = document.load()
    put(bucket, "big/big-2.0.tar.gz")
    ProjectIndex(bucket, "big").update(["big/big-2.0.tar.gz"])
    assert renders["big"] == 2
    assert old_etag is not None
    document.publish(old_state, old_etag, just_written=True)  # small: rendered, then the newer
    assert renders["big"] == 4
    monkeypatch.setattr(ProjectDocument, "costly", lambda self, state: True)
    document.publish(old_state, old_etag, just_written=True)
    assert renders["big"] == 4
    stored = bucket.get(layout.project_page_key("big", "json"))
    assert stored is not None and b"big-2.0" in gzip.decompress(stored[0])


@pytest.mark.usefixtures("atomic_moto")
@pytest.mark.parametrize("delivery", ["sns", "sqs"])
def test_a_storm_of_new_projects_lists_every_one(
    settings: config.Settings, bucket: Bucket, delivery: str
) -> None:
    """60 new projects at once on 12 concurrent handlers (one event each, or batches of 5):
    no invocation fails and the root lists every project, with S3's atomic conditional writes
    (the bench's moto server does not make them atomic)."""
    from support.s3events import handle_concurrently, s3_event

    keys = [f"storm-{i:02d}/storm_{i:02d}-1.0.tar.gz" for i in range(60)]
    for key in keys:
        put(bucket, key)
    if delivery == "sns":
        events = [s3_event(bucket.name, key) for key in keys]
    else:
        bodies = [s3_body(bucket.name, key) for key in keys]
        events = [sqs_event(*bodies[i : i + 5]) for i in range(0, len(bodies), 5)]
    results: list[Any] = []

    def make_handler() -> Any:
        app = ReindexApp(settings, bucket)
        return lambda event: results.append(app.handle(event))

    handle_concurrently(make_handler, events, threads=12)
    assert root_projects(bucket) == sorted(key.partition("/")[0] for key in keys)
    if delivery == "sqs":
        assert all(r == {"batchItemFailures": []} for r in results)
