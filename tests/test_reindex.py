"""The reindex handler: SNS-wrapped S3 events → root index, against in-process moto."""

from __future__ import annotations

import gzip
import json
import random
import threading
from typing import Any
from urllib.parse import quote_plus

import pytest

from serverless_pypi import config, derived
from serverless_pypi.reindex import ReindexApp
from serverless_pypi.storage import Bucket, PreconditionFailed


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


def root_projects(bucket: Bucket) -> list[str]:
    stored = bucket.get(derived.ROOT_JSON)
    assert stored is not None
    return [p["name"] for p in json.loads(gzip.decompress(stored[0]))["projects"]]


def root_html(bucket: Bucket) -> str:
    stored = bucket.get(derived.ROOT_HTML)
    assert stored is not None
    return gzip.decompress(stored[0]).decode()


@pytest.fixture
def app(settings: config.Settings, bucket: Bucket) -> ReindexApp:
    return ReindexApp(settings, bucket)


def put(bucket: Bucket, key: str) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"x")


def test_created_and_removed(app: ReindexApp, bucket: Bucket) -> None:
    put(bucket, "My_Pkg/my_pkg-1.0.tar.gz")
    result = app.handle(s3_event(bucket.name, "My_Pkg/my_pkg-1.0.tar.gz"))
    assert result["added"] == ["my-pkg"]
    assert root_projects(bucket) == ["my-pkg"]
    assert 'href="my-pkg/"' in root_html(bucket)

    bucket.delete("My_Pkg/my_pkg-1.0.tar.gz")
    result = app.handle(
        s3_event(bucket.name, "My_Pkg/my_pkg-1.0.tar.gz", event="ObjectRemoved:Delete")
    )
    assert result["removed"] == ["my-pkg"]
    assert root_projects(bucket) == []
    assert "my-pkg" not in root_html(bucket)


def test_one_entry_per_project_however_many_spellings(app: ReindexApp, bucket: Bucket) -> None:
    keys = ["My_Pkg/my_pkg-1.0.tar.gz", "my.pkg/my_pkg-1.1.tar.gz", "MY-PKG/my_pkg-1.2.tar.gz"]
    for key in keys:
        put(bucket, key)
    app.handle(s3_event(bucket.name, *keys))
    assert root_projects(bucket) == ["my-pkg"]
    # Removing one spelling keeps the project; removing all drops it.
    bucket.delete(keys[0])
    app.handle(s3_event(bucket.name, keys[0], event="ObjectRemoved:Delete"))
    assert root_projects(bucket) == ["my-pkg"]
    for key in keys[1:]:
        bucket.delete(key)
    app.handle(s3_event(bucket.name, *keys[1:], event="ObjectRemoved:Delete"))
    assert root_projects(bucket) == []


def test_events_are_hints_so_order_does_not_matter(app: ReindexApp, bucket: Bucket) -> None:
    # A "created" event delivered after the object was deleted must not resurrect the project.
    app.handle(s3_event(bucket.name, "ghost/ghost-1.0.tar.gz"))
    assert bucket.get(derived.ROOT_JSON) is None  # nothing to show, nothing written
    # A "removed" event delivered while the object exists must not drop the project.
    put(bucket, "real/real-1.0.tar.gz")
    app.handle(s3_event(bucket.name, "real/real-1.0.tar.gz", event="ObjectRemoved:Delete"))
    assert root_projects(bucket) == ["real"]


def test_url_encoded_keys(app: ReindexApp, bucket: Bucket) -> None:
    key = "My Weird+Dir/x.tar.gz"  # invalid project: skipped, never a failure
    put(bucket, key)
    put(bucket, "pkg/pkg-1.0+local.tar.gz")
    result = app.handle(s3_event(bucket.name, key, "pkg/pkg-1.0+local.tar.gz"))
    assert result["skipped"] == 1
    assert root_projects(bucket) == ["pkg"]


def test_duplicate_event_is_a_no_op(app: ReindexApp, bucket: Bucket) -> None:
    put(bucket, "pkg/pkg-1.0.tar.gz")
    app.handle(s3_event(bucket.name, "pkg/pkg-1.0.tar.gz"))
    before = {
        k: bucket.get(k) for k in (derived.ROOT_HTML, derived.ROOT_JSON, derived.PROJECTS_STATE)
    }
    calls: list[str] = []
    bucket.client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )
    app.handle(s3_event(bucket.name, "pkg/pkg-1.0.tar.gz", "pkg/pkg-1.0.tar.gz"))
    assert "PutObject" not in calls
    after = {k: bucket.get(k) for k in before}
    assert after == before


HOSTILE_MESSAGES: list[Any] = [
    "not json",
    "[]",
    {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "pypi-test"},
    {"Records": "nope"},
    {"Records": [5, None, "x"]},
    {"Records": [{"eventName": "ObjectCreated:Put"}]},
    {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": 1}}}]},
    {"Records": [s3_record("pypi-test", "pkg/pkg-1.0.tar.gz", "ObjectAcl:Put")]},
    {"Records": [s3_record("someone-elses-bucket", "evil/evil-1.0.tar.gz")]},
    {"Records": [s3_record("pypi-test", ".index/root.json")]},
    {"Records": [s3_record("pypi-test", "../../etc/passwd")]},
    {"Records": [s3_record("pypi-test", "x" * 2000 + "/a.tar.gz")]},
    {"Records": [s3_record("pypi-test", "")]},
]


@pytest.mark.parametrize("message", HOSTILE_MESSAGES)
def test_hostile_messages_are_skipped_and_write_nothing(
    app: ReindexApp, bucket: Bucket, message: Any
) -> None:
    put(bucket, "evil/evil-1.0.tar.gz")
    before = bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    result = app.handle(sns_event(message))
    assert result["skipped"] >= 1
    assert result["projects"] == []
    after = bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    assert after == before


@pytest.mark.parametrize("event", [None, {}, {"Records": None}, {"Records": [{"Sns": 5}]}, []])
def test_malformed_lambda_events_do_not_raise(app: ReindexApp, event: Any) -> None:
    assert app.handle(event)["projects"] == []


def test_one_bad_record_does_not_fail_the_batch(app: ReindexApp, bucket: Bucket) -> None:
    put(bucket, "good/good-1.0.tar.gz")
    event = sns_event("garbage", {"Records": [s3_record(bucket.name, "good/good-1.0.tar.gz")]})
    result = app.handle(event)
    assert result["skipped"] == 1
    assert root_projects(bucket) == ["good"]


def test_direct_s3_events_work_too(app: ReindexApp, bucket: Bucket) -> None:
    put(bucket, "good/good-1.0.tar.gz")
    app.handle({"Records": [s3_record(bucket.name, "good/good-1.0.tar.gz")]})
    assert root_projects(bucket) == ["good"]


def test_rebuild_all_reports_changes(app: ReindexApp, bucket: Bucket) -> None:
    for key in ("a/a-1.0.tar.gz", "B_b/b_b-1.0.tar.gz", "junk/readme.txt", "top.tar.gz"):
        put(bucket, key)
    report = app.rebuild_all()
    assert (report.projects, report.added, report.removed) == (2, ["a", "b-b"], [])
    bucket.delete("a/a-1.0.tar.gz")
    report = app.rebuild_all()
    assert (report.added, report.removed) == ([], ["a"])
    assert root_projects(bucket) == ["b-b"]


def test_lost_race_is_retried(
    app: ReindexApp, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conditional write that fails with 412 re-reads the state instead of overwriting."""
    put(bucket, "a/a-1.0.tar.gz")
    put(bucket, "b/b-1.0.tar.gz")
    app.handle(s3_event(bucket.name, "a/a-1.0.tar.gz"))
    real_put = bucket.put
    raced = []

    def racing_put(key: str, body: bytes, content_type: str, **kwargs: Any) -> str:
        if key == derived.PROJECTS_STATE and not raced:
            raced.append(True)
            # Another writer lands first; our If-Match must now fail.
            ReindexApp(app.settings, bucket).handle(s3_event(bucket.name, "b/b-1.0.tar.gz"))
            with pytest.raises(PreconditionFailed):
                real_put(key, body, content_type, **kwargs)
        return real_put(key, body, content_type, **kwargs)

    put(bucket, "c/c-1.0.tar.gz")
    monkeypatch.setattr(bucket, "put", racing_put)
    app.handle(s3_event(bucket.name, "c/c-1.0.tar.gz"))
    assert raced
    assert root_projects(bucket) == ["a", "b", "c"]


@pytest.mark.usefixtures("atomic_moto")
def test_concurrent_shuffled_duplicated_events_converge(
    settings: config.Settings, bucket: Bucket
) -> None:
    rng = random.Random(7)
    keys = [f"p{i % 7}/p{i % 7}-{i}.0.tar.gz" for i in range(28)]
    for key in keys:
        put(bucket, key)
    deleted = set(rng.sample(keys, 12))
    for key in deleted:
        bucket.delete(key)
    events = [s3_event(bucket.name, k) for k in keys] * 2
    events += [s3_event(bucket.name, k, event="ObjectRemoved:Delete") for k in deleted]
    rng.shuffle(events)
    errors: list[BaseException] = []

    def worker(chunk: list[dict[str, Any]]) -> None:
        app = ReindexApp(settings, bucket)
        try:
            for event in chunk:
                app.handle(event)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(events[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    incremental = {k: bucket.get(k)[0] for k in (derived.ROOT_JSON, derived.ROOT_HTML)}
    expected = sorted({k.split("/")[0] for k in set(keys) - deleted})
    assert root_projects(bucket) == expected
    ReindexApp(settings, bucket).rebuild_all()
    rebuilt = {k: bucket.get(k)[0] for k in incremental}
    assert rebuilt == incremental
