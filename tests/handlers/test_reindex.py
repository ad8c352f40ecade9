"""The reindex handler: SNS-wrapped S3 events → root index, against in-process moto."""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

import pytest
from support.s3events import handle_concurrently, s3_event, s3_record, sns_event

from serverless_pypi import config, documents, layout, render
from serverless_pypi.errors import PreconditionFailed
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.reindex.project import Outcome
from serverless_pypi.storage import Bucket


def root_projects(bucket: Bucket) -> list[str]:
    stored = bucket.get(layout.ROOT_JSON)
    assert stored is not None
    return [p["name"] for p in json.loads(gzip.decompress(stored[0]))["projects"]]


def root_html(bucket: Bucket) -> str:
    stored = bucket.get(layout.ROOT_JSON)
    assert stored is not None
    return render.root_html(documents.load_root(stored[0]))


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
    assert bucket.get(layout.ROOT_JSON) is None  # nothing to show, nothing written
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
    before = {k: bucket.get(k) for k in (layout.ROOT_JSON, layout.project_doc_key("pkg"))}
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
        if key == layout.ROOT_JSON and not raced:
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


def test_slow_root_writer_does_not_hide_a_project_that_came_back(
    app: ReindexApp, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer A saw the last file of ``p`` go and is about to drop ``p`` from the root. Before
    its write lands, writer B indexes a new file of ``p``: B's outcome (present) agrees with
    the root as it still is, so B writes nothing. A's write then succeeds, and only A's check
    afterwards (the document it read has changed) brings ``p`` back."""
    put(bucket, "p/p-1.0.tar.gz")
    app.handle(s3_event(bucket.name, "p/p-1.0.tar.gz"))
    bucket.delete("p/p-1.0.tar.gz")
    real_put = bucket.put
    raced: list[dict[str, Any]] = []

    def racing_put(key: str, body: bytes, content_type: str, **kwargs: Any) -> str:
        if key == layout.ROOT_JSON and not raced:
            put(bucket, "p/p-2.0.tar.gz")
            raced.append(
                ReindexApp(app.settings, bucket).handle(s3_event(bucket.name, "p/p-2.0.tar.gz"))
            )
        return real_put(key, body, content_type, **kwargs)

    monkeypatch.setattr(bucket, "put", racing_put)
    report = app.handle(s3_event(bucket.name, "p/p-1.0.tar.gz", event="ObjectRemoved:Delete"))
    assert raced and raced[0]["added"] == []  # B saw "p" still listed and wrote nothing
    assert root_projects(bucket) == ["p"]
    assert (report["added"], report["removed"]) == ([], [])


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
    handle_concurrently(lambda: ReindexApp(settings, bucket).handle, events)
    incremental = {layout.ROOT_JSON: bucket.get(layout.ROOT_JSON)[0]}
    expected = sorted({k.split("/")[0] for k in set(keys) - deleted})
    assert root_projects(bucket) == expected
    ReindexApp(settings, bucket).rebuild_all()
    rebuilt = {k: bucket.get(k)[0] for k in incremental}
    assert rebuilt == incremental


def stored_root(document: Any) -> bytes:
    return gzip.compress(json.dumps(document).encode())


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (b"not gzip", ()),
        (gzip.compress(b"not json"), ()),
        (gzip.compress(b"\xff\xfe"), ()),
        (gzip.compress(b"x")[:-4], ()),  # truncated
        (stored_root([]), ()),
        (stored_root({"projects": {"a": 1}}), ()),
        (stored_root({"projects": [{"name": "b"}, {"name": "a"}, {"name": "a"}]}), ("a", "b")),
        (
            stored_root(
                {
                    "projects": [
                        {"name": "a"},
                        {"name": "a\nb"},  # would pass a per-line check of the joined names
                        {"name": "<script>"},
                        {"name": "Upper"},
                        {"name": "-dash"},
                        {"name": "ok-2"},
                        {"name": 5},
                        {"nom": "x"},
                        "c",
                        None,
                    ]
                }
            ),
            ("a", "ok-2"),
        ),
    ],
)
def test_stored_root_is_read_defensively(stored: bytes, expected: tuple[str, ...]) -> None:
    assert documents.load_root(stored) == expected


def test_root_written_by_hand_is_repaired_by_the_next_change(
    app: ReindexApp, bucket: Bucket
) -> None:
    junk = stored_root({"projects": [{"name": "<b>"}, {"name": "gone"}, {"name": "b"}]})
    bucket.client.put_object(Bucket=bucket.name, Key=layout.ROOT_JSON, Body=junk)
    put(bucket, "a/a-1.0.tar.gz")
    app.handle(s3_event(bucket.name, "a/a-1.0.tar.gz"))
    # Junk names are dropped; "gone" and "b" stay until an event or a rebuild looks at them.
    assert root_projects(bucket) == ["a", "b", "gone"]
    assert "<b>" not in root_html(bucket)
    app.rebuild_all()
    assert root_projects(bucket) == ["a"]


def test_full_rebuild_removes_the_earlier_root_layout(app: ReindexApp, bucket: Bucket) -> None:
    for key in layout.LEGACY_ROOT_KEYS:
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"old")
    put(bucket, "a/a-1.0.tar.gz")
    app.rebuild_all()
    assert all(bucket.get(key) is None for key in layout.LEGACY_ROOT_KEYS)
    assert root_projects(bucket) == ["a"]


def test_new_project_event_touches_the_root_once(app: ReindexApp, bucket: Bucket) -> None:
    """Root work for a new project: read the root, read the document that disagrees with it,
    one conditional write, and one check that the document is still current."""
    put(bucket, "a/a-1.0.tar.gz")
    app.handle(s3_event(bucket.name, "a/a-1.0.tar.gz"))
    calls: list[tuple[str, str]] = []
    bucket.client.meta.events.register(
        "before-parameter-build.s3",
        lambda model, params, **_: calls.append((model.name, params.get("Key", ""))),
    )
    put(bucket, "b/b-1.0.tar.gz")
    calls.clear()
    app.handle(s3_event(bucket.name, "b/b-1.0.tar.gz"))
    doc = layout.project_doc_key("b")
    assert calls[-4:] == [
        ("GetObject", layout.ROOT_JSON),
        ("GetObject", doc),
        ("PutObject", layout.ROOT_JSON),
        ("HeadObject", doc),
    ]
    assert [c for c in calls if c[1] == layout.ROOT_JSON] == calls[-4:][::2]
    # A second file in an existing project agrees with the root: one read, nothing written.
    put(bucket, "b/b-2.0.tar.gz")
    calls.clear()
    app.handle(s3_event(bucket.name, "b/b-2.0.tar.gz"))
    assert [c for c in calls if c[1] == layout.ROOT_JSON] == [("GetObject", layout.ROOT_JSON)]
    assert root_projects(bucket) == ["a", "b"]


def test_many_documents_are_checked_with_one_listing(app: ReindexApp, bucket: Bucket) -> None:
    """A root update that read 25 documents checks them afterwards by listing the documents
    once, not by 25 HEADs; a document changed meanwhile is still caught."""
    for i in range(25):
        put(bucket, f"p{i}/p{i}-1.0.tar.gz")
    app.rebuild_all()
    bucket.delete(layout.ROOT_JSON)
    outcomes = {f"p{i}": Outcome(present=True, prefixes=(f"p{i}",)) for i in range(25)}
    calls: list[str] = []
    bucket.client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )
    report = app.root.reconcile(outcomes)
    assert len(report.added) == 25
    assert sorted(calls) == sorted(
        ["GetObject"] * 26 + ["PutObject", "ListObjectsV2"]  # root + 25 documents
    )
    read = {name: bucket.etag(layout.project_doc_key(name)) for name in outcomes}
    assert app.root.changed_documents(read) == set()
    read["p3"] = '"stale"'
    assert app.root.changed_documents(read) == {"p3"}


def test_root_that_keeps_moving_gives_up_with_a_warning(
    app: ReindexApp, bucket: Bucket, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """A document that changes after every root write: the writer stops after a bounded
    number of rounds and says so instead of looping."""
    from serverless_pypi.reindex import root as reindex

    put(bucket, "a/a-1.0.tar.gz")
    flips = iter(range(1, 1000))

    def flip_flopping_load(self: Any) -> tuple[dict[str, Any], str]:
        n = next(flips)
        return ({"a/a-1.0.tar.gz": object()} if n % 2 else {}), f'"{n}"'

    monkeypatch.setattr(reindex.ProjectDocument, "load", flip_flopping_load)
    monkeypatch.setattr(app.root, "changed_documents", lambda read, **_: set(read))
    app.root.reconcile({"a": Outcome(present=True, prefixes=("a",))})
    assert "root index may lag" in caplog.text
    assert next(flips) == reindex.MAX_ATTEMPTS + 1  # one document read per round


@pytest.mark.parametrize(
    "message",
    ["[" * 100_000, '{"Records":' * 50_000 + "[]" + "}" * 50_000],
    ids=["unclosed", "valid-json"],
)
def test_deeply_nested_message_is_skipped_not_raised(
    app: ReindexApp, bucket: Bucket, message: str
) -> None:
    put(bucket, "good/good-1.0.tar.gz")
    event = sns_event(message, {"Records": [s3_record(bucket.name, "good/good-1.0.tar.gz")]})
    result = app.handle(event)
    assert result["skipped"] == 1
    assert root_projects(bucket) == ["good"]


def test_nesting_check_does_not_look_into_strings() -> None:
    from serverless_pypi.reindex.events import nested_deeper_than

    assert not nested_deeper_than('{"a": "[[[[\\"[[{{", "b": [1]}', 2)
    assert nested_deeper_than('{"a": [[{"b": 1}]]}', 3)
