"""Derived data end to end at handler level: reindex events → documents → pages → API."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import time
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import sdist_bytes, wheel_bytes
from support.indexing import publish
from support.s3events import handle_concurrently, s3_event, sns_envelope, sqs_event

from serverless_pypi import config, layout
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

JSON = "application/vnd.pypi.simple.v1+json"
UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def remove(bucket: Bucket, reindex: ReindexApp, key: str) -> None:
    bucket.client.delete_object(Bucket=bucket.name, Key=key)
    reindex.handle(s3_event(bucket.name, key, event="ObjectRemoved:Delete"))


def page(api: ApiApp, project: str, accept: str = JSON) -> dict[str, Any]:
    response = api.handle(http_event("GET", f"/simple/{project}/", headers={"Accept": accept}))
    assert response["statusCode"] == 200, response
    return response


def files_by_name(api: ApiApp, project: str) -> dict[str, dict[str, Any]]:
    return {f["filename"]: f for f in json.loads(page(api, project)["body"])["files"]}


WHEEL = "pkg-1.0-py3-none-any.whl"


def test_json_page_carries_every_derived_field(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    data = wheel_bytes("pkg", "1.0", requires_python=">=3.8,<4")
    publish(bucket, reindex, f"pkg/{WHEEL}", data)
    publish(bucket, reindex, "pkg/pkg-0.9.tar.gz", sdist_bytes("pkg", "0.9"))
    body = json.loads(page(api, "pkg")["body"])
    assert body["meta"]["api-version"] == "1.4"
    assert body["versions"] == ["0.9", "1.0"]
    wheel = {f["filename"]: f for f in body["files"]}[WHEEL]
    assert wheel["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert wheel["size"] == len(data)
    assert wheel["requires-python"] == ">=3.8,<4"  # plain text in JSON
    assert UPLOAD_TIME.match(wheel["upload-time"])
    metadata = api.handle(http_event("GET", f"/files/pkg/{WHEEL}.metadata"))
    assert metadata["statusCode"] == 200
    advertised = wheel["core-metadata"]["sha256"]
    assert hashlib.sha256(metadata["body"].encode()).hexdigest() == advertised
    assert "dist-info-metadata" not in wheel
    sdist = {f["filename"]: f for f in body["files"]}["pkg-0.9.tar.gz"]
    assert sdist["core-metadata"] is False


def test_html_page_carries_hash_requires_python_and_metadata(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    data = wheel_bytes("pkg", "1.0", requires_python=">=3.8,<4")
    publish(bucket, reindex, f"pkg/{WHEEL}", data)
    html = page(api, "pkg", "text/html")["body"]
    digest = hashlib.sha256(data).hexdigest()
    assert f'{WHEEL}#sha256={digest}"' in html
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in html
    meta_sha = files_by_name(api, "pkg")[WHEEL]["core-metadata"]["sha256"]
    assert f'data-core-metadata="sha256={meta_sha}"' in html
    assert f'data-dist-info-metadata="sha256={meta_sha}"' in html


def test_metadata_route(bucket: Bucket, reindex: ReindexApp, api: ApiApp) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    publish(bucket, reindex, "pkg/pkg-2.0-py3-none-any.whl", b"not a zip")
    publish(bucket, reindex, "pkg/pkg-0.9.tar.gz", sdist_bytes("pkg", "0.9"))
    head = api.handle(http_event("HEAD", f"/files/pkg/{WHEEL}.metadata"))
    assert head["statusCode"] == 200 and head["body"] == ""
    for missing in ("pkg-2.0-py3-none-any.whl", "pkg-0.9.tar.gz", "pkg-3.0-py3-none-any.whl"):
        response = api.handle(http_event("GET", f"/files/pkg/{missing}.metadata"))
        assert response["statusCode"] == 404, missing


def test_broken_files_are_still_listed(bucket: Bucket, reindex: ReindexApp, api: ApiApp) -> None:
    broken = {
        "pkg-1.0-py3-none-any.whl": wheel_bytes("pkg", "1.0")[:100],  # truncated
        "pkg-1.1-py3-none-any.whl": b"garbage",  # not a zip
        "pkg-1.2.tar.gz": b"garbage",  # not a tarball
    }
    for filename, data in broken.items():
        publish(bucket, reindex, f"pkg/{filename}", data)
    listed = files_by_name(api, "pkg")
    assert set(listed) == set(broken)
    for filename, data in broken.items():
        assert listed[filename]["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert listed[filename]["core-metadata"] is False


def test_project_page_is_one_s3_read(bucket: Bucket, reindex: ReindexApp, api: ApiApp) -> None:
    for i in range(5):
        publish(bucket, reindex, f"pkg/pkg-1.{i}.tar.gz", b"x")
    calls: list[str] = []
    bucket.client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )
    page(api, "pkg")
    page(api, "pkg", "text/html")
    assert calls == ["GetObject", "GetObject"]


def test_upload_time_never_changes(bucket: Bucket, reindex: ReindexApp, api: ApiApp) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    first = files_by_name(api, "pkg")[WHEEL]["upload-time"]
    time.sleep(1.1)
    # Copying the object onto itself (e.g. to change its metadata) gives a new LastModified.
    bucket.client.copy_object(
        Bucket=bucket.name,
        Key=f"pkg/{WHEEL}",
        CopySource={"Bucket": bucket.name, "Key": f"pkg/{WHEEL}"},
        Metadata={"x": "y"},
        MetadataDirective="REPLACE",
    )
    reindex.handle(s3_event(bucket.name, f"pkg/{WHEEL}", event="ObjectCreated:Copy"))
    assert files_by_name(api, "pkg")[WHEEL]["upload-time"] == first
    reindex.rebuild_all()
    assert files_by_name(api, "pkg")[WHEEL]["upload-time"] == first


def test_last_delete_removes_project_pages_and_sidecars(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    publish(bucket, reindex, "pkg/pkg-0.9.tar.gz", b"x")
    remove(bucket, reindex, f"pkg/{WHEEL}")
    assert list(files_by_name(api, "pkg")) == ["pkg-0.9.tar.gz"]
    assert bucket.get(layout.metadata_key(f"pkg/{WHEEL}")) is None
    remove(bucket, reindex, "pkg/pkg-0.9.tar.gz")
    response = api.handle(http_event("GET", "/simple/pkg/"))
    assert response["statusCode"] == 404
    root = json.loads(api.handle(http_event("GET", "/simple/", headers={"Accept": JSON}))["body"])
    assert root["projects"] == []


def count_requests(bucket: Bucket, action: Any) -> int:
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    bucket.client.meta.events.register("before-call.s3", record)
    try:
        action()
    finally:
        bucket.client.meta.events.unregister("before-call.s3", record)
    return len(calls)


def test_event_cost_does_not_grow_with_the_bucket(bucket: Bucket, reindex: ReindexApp) -> None:
    def add(project: str, version: str) -> int:
        key = f"{project}/{project}-{version}.tar.gz"
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"x")
        return count_requests(bucket, lambda: reindex.handle(s3_event(bucket.name, key)))

    for i in range(3):
        add(f"p{i}", "1.0")
    small = (add("probe", "1.0"), add("probe", "1.1"))
    for i in range(3, 60):
        add(f"p{i}", "1.0")
    for i in range(40):
        add("probe", f"0.{i}")
    large = (add("probe2", "1.0"), add("probe", "1.2"))
    assert small == large


def test_manual_event_rebuilds_one_project(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key="Quiet/quiet-1.0.tar.gz", Body=b"x")
    result = reindex.handle({"reindex": "QUIET"})
    assert result["added"] == ["quiet"]
    assert "quiet-1.0.tar.gz" in files_by_name(api, "quiet")
    assert reindex.handle({"reindex": "../etc"}).get("error")


def snapshot(bucket: Bucket) -> dict[str, bytes]:
    """Everything derived, with volatile per-write details (state ETag markers) left out."""
    result: dict[str, bytes] = {}
    for obj in bucket.list_objects(layout.INDEX_PREFIX):
        stored = bucket.get(obj.key)
        assert stored is not None
        result[obj.key] = stored[0]
    return result


def as_sqs_batches(events: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """The same SNS messages as the queue would hand them over: batches of 1 to 15."""
    bodies = [sns_envelope(e["Records"][0]["Sns"]["Message"]) for e in events]
    batches = []
    while bodies:
        size = rng.randint(1, 15)
        batches.append(sqs_event(*bodies[:size]))
        bodies = bodies[size:]
    return batches


@pytest.mark.usefixtures("atomic_moto")
@pytest.mark.parametrize("delivery", ["sns", "sqs"])
def test_randomized_events_converge_to_a_full_rebuild(
    settings: config.Settings, bucket: Bucket, delivery: str
) -> None:
    rng = random.Random(20261121)
    projects = ["Alpha", "beta", "Gamma_Lib", "gamma.lib", "delta"]
    keys: list[str] = []
    for i in range(60):
        prefix = rng.choice(projects)
        name = prefix.lower().replace(".", "_")
        version = f"{i}.0"
        if i % 3:
            filename = f"{name}-{version}-py3-none-any.whl"
            data = wheel_bytes(name, version, requires_python=">=3.9" if i % 2 else None)
        else:
            filename = f"{name}-{version}.tar.gz"
            data = sdist_bytes(name, version)
        key = f"{prefix}/{filename}"
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)
        keys.append(key)
    deleted = set(rng.sample(keys, 20))
    events = [s3_event(bucket.name, k) for k in keys] * 2
    events += [s3_event(bucket.name, k, event="ObjectRemoved:Delete") for k in deleted] * 2
    rng.shuffle(events)
    # Deletions happen while events are in flight.
    deletions = sorted(deleted)

    def delete_one_now_and_then(n: int) -> None:
        if n % 4 == 0 and deletions:
            bucket.delete(deletions.pop())

    results: list[Any] = []

    def make_handler() -> Any:
        app = ReindexApp(settings, bucket)
        return lambda event: results.append(app.handle(event))

    if delivery == "sqs":
        events = as_sqs_batches(events, rng)
    handle_concurrently(make_handler, events, between=delete_one_now_and_then)
    if delivery == "sqs":  # a batch applied as one unit never fails on a race
        assert {json.dumps(r) for r in results} == {'{"batchItemFailures": []}'}
    for key in deletions:  # any the workers did not get to
        bucket.delete(key)
    # Deletions raced with events: deliver each deletion's event once more, as S3 would have.
    final = ReindexApp(settings, bucket)
    for key in sorted(deleted):
        final.handle(s3_event(bucket.name, key, event="ObjectRemoved:Delete"))
    incremental = snapshot(bucket)

    for key in incremental:
        bucket.delete(key)
    ReindexApp(settings, bucket).rebuild_all()
    rebuilt = snapshot(bucket)
    assert sorted(rebuilt) == sorted(incremental)
    for key in rebuilt:
        if key.endswith(".json") and "/projects/" in key:
            assert json.loads(rebuilt[key]) == json.loads(incremental[key]), key
        assert rebuilt[key] == incremental[key], key
    live = {
        k.split("/")[0].lower().replace("_", "-").replace(".", "-") for k in set(keys) - deleted
    }
    root = json.loads(gzip.decompress(rebuilt[layout.ROOT_JSON]))
    assert [p["name"] for p in root["projects"]] == sorted(live)


def test_yank_marker_round_trip(bucket: Bucket, reindex: ReindexApp, api: ApiApp) -> None:
    key = f"Pkg/{WHEEL}"
    publish(bucket, reindex, key, wheel_bytes("pkg", "1.0"))
    before = files_by_name(api, "pkg")[WHEEL]
    publish(bucket, reindex, layout.yank_key(key), b"broken <build> & bad")
    yanked = files_by_name(api, "pkg")[WHEEL]
    assert yanked["yanked"] == "broken <build> & bad"
    assert yanked["upload-time"] == before["upload-time"]
    assert yanked["hashes"] == before["hashes"]
    html = page(api, "pkg", "text/html")["body"]
    assert 'data-yanked="broken &lt;build&gt; &amp; bad"' in html

    # A full rebuild from nothing keeps the yank: the marker is the record of it.
    for obj in list(bucket.list_objects(layout.INDEX_PREFIX)):
        bucket.delete(obj.key)
    reindex.rebuild_all()
    rebuilt = files_by_name(api, "pkg")[WHEEL]
    assert rebuilt["yanked"] == "broken <build> & bad"
    assert rebuilt["upload-time"] == before["upload-time"]

    remove(bucket, reindex, layout.yank_key(key))
    unyanked = files_by_name(api, "pkg")[WHEEL]
    assert "yanked" not in unyanked
    assert "data-yanked" not in page(api, "pkg", "text/html")["body"]


def test_yank_without_reason(bucket: Bucket, reindex: ReindexApp, api: ApiApp) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    publish(bucket, reindex, layout.yank_key(f"pkg/{WHEEL}"), b"")
    assert files_by_name(api, "pkg")[WHEEL]["yanked"] is True
    assert 'data-yanked=""' in page(api, "pkg", "text/html")["body"]


def test_marker_for_missing_or_junk_files_changes_nothing(
    bucket: Bucket, reindex: ReindexApp
) -> None:
    for marker in (layout.yank_key("pkg/pkg-9.0.tar.gz"), layout.yank_key("../x"), ".yanked/"):
        bucket.client.put_object(Bucket=bucket.name, Key=marker, Body=b"x")
        reindex.handle(s3_event(bucket.name, marker))
    assert bucket.get(layout.ROOT_JSON) is None


def test_page_near_the_response_limit_is_logged(
    bucket: Bucket, reindex: ReindexApp, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from serverless_pypi.reindex import state

    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    assert "nears the API's response limit" not in caplog.text
    monkeypatch.setattr(state, "WARN_SHARE", 0.0)  # any page is "near" now
    publish(bucket, reindex, "pkg/pkg-1.1.tar.gz", sdist_bytes("pkg", "1.1"))
    warned = [r for r in caplog.records if r.getMessage() == "page nears the API's response limit"]
    assert {r.key for r in warned} == {  # type: ignore[attr-defined]
        layout.project_page_key("pkg", "html"),
        layout.project_page_key("pkg", "json"),
        # The web pages (serverless_pypi.web) are stored pages too, bound by the same limit.
        layout.web_project_key("pkg", "html"),
        layout.web_project_key("pkg", "json"),
        layout.web_version_key("pkg", "1.1", "html"),
        layout.web_version_key("pkg", "1.1", "json"),
        layout.web_state_key("pkg"),
    }


def test_parallel_full_rebuild_equals_a_serial_one(
    settings: config.Settings, bucket: Bucket
) -> None:
    """Prefixes are applied on a thread pool; spellings of one project (``Multi``, ``multi``,
    ``MULTI``) land on one document at once, and none of their files may be lost."""
    put = bucket.client.put_object
    for i in range(40):
        prefix = ["Multi", "multi", "MULTI", f"solo{i % 9}"][i % 4]
        name = prefix.lower()
        put(
            Bucket=bucket.name,
            Key=f"{prefix}/{name}-{i}.0.tar.gz",
            Body=sdist_bytes(name, f"{i}.0"),
        )
    put(Bucket=bucket.name, Key="multi/README.txt", Body=b"junk")
    put(Bucket=bucket.name, Key=".yanked/MULTI/multi-2.0.tar.gz", Body=b"broken")
    put(Bucket=bucket.name, Key="bad name/x-1.0.tar.gz", Body=b"x")
    app = ReindexApp(settings, bucket)

    app.rebuild_all(workers=1)
    serial = snapshot(bucket)
    for key in serial:
        bucket.delete(key)
    progress: list[tuple[int, int]] = []
    report = app.rebuild_all(
        lambda objects, projects: progress.append((objects, projects)), workers=8
    )
    assert snapshot(bucket) == serial
    assert report.projects == 10 and report.files_added == 40
    assert progress and progress[-1][1] == 10
    multi = json.loads(serial[layout.project_doc_key("multi")])["files"]
    assert len(multi) == 30 and multi["MULTI/multi-2.0.tar.gz"]["yanked"] == "broken"


def test_new_bytes_under_a_known_key_are_a_new_upload(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp, caplog: Any
) -> None:
    key = f"pkg/{WHEEL}"
    publish(bucket, reindex, key, wheel_bytes("pkg", "1.0"))
    first = files_by_name(api, "pkg")[WHEEL]
    time.sleep(1.1)
    # The same bytes again as a multipart upload (another ETag): the same upload.
    bucket.put_parts(key, [wheel_bytes("pkg", "1.0")], "application/octet-stream")
    reindex.handle(s3_event(bucket.name, key))
    assert files_by_name(api, "pkg")[WHEEL]["upload-time"] == first["upload-time"]
    assert "overwritten with other bytes" not in caplog.text

    other = wheel_bytes("pkg", "1.0", requires_python=">=3.9")
    publish(bucket, reindex, key, other)
    second = files_by_name(api, "pkg")[WHEEL]
    assert second["hashes"] == {"sha256": hashlib.sha256(other).hexdigest()}
    assert second["upload-time"] > first["upload-time"]
    warned = [r for r in caplog.records if "overwritten with other bytes" in r.getMessage()]
    assert [r.key for r in warned] == [key]  # type: ignore[attr-defined]
    reindex.rebuild_all()
    assert files_by_name(api, "pkg")[WHEEL]["upload-time"] == second["upload-time"]


class CountingStream:
    """A body that counts the bytes read from it."""

    def __init__(self, stream: Any, counts: list[int]) -> None:
        self.stream, self.counts = stream, counts

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size) if size is not None and size >= 0 else self.stream.read()
        self.counts.append(len(data))
        return bytes(data)

    def close(self) -> None:
        self.stream.close()


def test_huge_yank_marker_is_read_only_as_far_as_it_is_kept(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serverless_pypi.layout import MAX_YANK_REASON

    key = f"pkg/{WHEEL}"
    publish(bucket, reindex, key, wheel_bytes("pkg", "1.0"))
    marker = layout.yank_key(key)
    bucket.client.put_object(Bucket=bucket.name, Key=marker, Body="é 😀 ".encode() * 1_000_000)
    counts: list[int] = []
    real_open = bucket.open

    def counting_open(opened_key: str) -> Any:
        opened = real_open(opened_key)
        if opened is None or opened_key != marker:
            return opened
        return CountingStream(opened[0], counts), opened[1]

    monkeypatch.setattr(bucket, "open", counting_open)
    reindex.handle(s3_event(bucket.name, marker))
    expected = ("é 😀 " * MAX_YANK_REASON)[:MAX_YANK_REASON]
    assert files_by_name(api, "pkg")[WHEEL]["yanked"] == expected
    assert 0 < sum(counts) <= 4 * MAX_YANK_REASON
    counts.clear()
    reindex.rebuild_all()
    assert files_by_name(api, "pkg")[WHEEL]["yanked"] == expected
    assert 0 < sum(counts) <= 4 * MAX_YANK_REASON


def test_one_file_per_identity_on_a_page(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Files dropped into the bucket by hand under variant spellings of one file: the first
    indexed is listed, the others are logged once as left out and still served."""
    from serverless_pypi import catalog

    monkeypatch.setattr(catalog, "_reported", set())
    first = wheel_bytes("dup", "1.0")
    publish(bucket, reindex, "dup/dup-1.0-py3-none-any.whl", first)
    time.sleep(1.1)
    later = {
        "dup/Dup-1.0-py3-none-any.whl": wheel_bytes("dup", "1.0", requires_python=">=3.9"),
        "Dup/dup-1.0-py3-none-any.whl": b"the same filename under another spelling",
        "dup/dup-01.0-py3-none-any.whl": b"another spelling of the version",
    }
    for key, data in later.items():
        publish(bucket, reindex, key, data)
    publish(bucket, reindex, "dup/dup-1.0-py3-none-macosx_11_0_arm64.whl", b"another file")
    listed = files_by_name(api, "dup")
    assert sorted(listed) == ["dup-1.0-py3-none-any.whl", "dup-1.0-py3-none-macosx_11_0_arm64.whl"]
    assert (
        listed["dup-1.0-py3-none-any.whl"]["hashes"]["sha256"] == hashlib.sha256(first).hexdigest()
    )
    assert listed["dup-1.0-py3-none-any.whl"]["url"].endswith("/dup/dup-1.0-py3-none-any.whl")
    left_out = [r.key for r in caplog.records if r.getMessage() == "ignored object"]  # type: ignore[attr-defined]
    assert sorted(left_out) == sorted(later)
    for key in later:
        assert api.handle(http_event("GET", f"/files/{key}"))["statusCode"] in (200, 302, 307)
    for obj in list(bucket.list_objects(layout.INDEX_PREFIX)):
        bucket.delete(obj.key)
    reindex.rebuild_all()
    assert files_by_name(api, "dup") == listed


def test_verify_repairs_and_reports_every_tampered_object(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    key = f"pkg/{WHEEL}"
    publish(bucket, reindex, key, wheel_bytes("pkg", "1.0"))
    publish(bucket, reindex, "pkg/pkg-0.9.tar.gz", sdist_bytes("pkg", "0.9"))
    good = snapshot(bucket)
    put = bucket.client.put_object
    doc_key = layout.project_doc_key("pkg")
    document = json.loads(good[doc_key])
    document["files"][key]["sha256"] = "0" * 64
    document["files"][key]["upload_time"] = "2001-01-01T00:00:00.000000Z"
    put(Bucket=bucket.name, Key=doc_key, Body=json.dumps(document).encode())
    put(Bucket=bucket.name, Key=layout.metadata_key(key), Body=b"Name: evil\n")
    page_key = layout.project_page_key("pkg", "json")
    put(Bucket=bucket.name, Key=page_key, Body=gzip.compress(b'{"files": []}'))
    root = gzip.compress(json.dumps({"projects": [{"name": "ghost"}, {"name": "<b>"}]}).encode())
    put(Bucket=bucket.name, Key=layout.ROOT_JSON, Body=root)

    result = reindex.handle({"reindex": "*", "verify": True})
    assert snapshot(bucket) == good
    reported = "\n".join(result["differences"])
    assert f"{key}: sha256 recorded as '{'0' * 64}'" in reported
    assert f"{key}: upload_time recorded as '2001-01-01T00:00:00.000000Z'" in reported
    assert f"{layout.metadata_key(key)}: differed from the wheel" in reported
    assert f"{page_key}: differed from its document" in reported
    assert f"{layout.ROOT_JSON}: did not list pkg" in reported
    assert f"{layout.ROOT_JSON}: listed ghost" in reported
    assert result["added"] == ["pkg"] and result["removed"] == ["ghost"]
    # Nothing left to find; an ordinary rebuild (trusting ETags) agrees.
    assert reindex.handle({"reindex": "*", "verify": True})["differences"] == []
    assert reindex.handle({"reindex": "pkg", "verify": True})["differences"] == []
    assert "differences" not in reindex.handle({"reindex": "*"})
    assert snapshot(bucket) == good


def test_verify_of_one_project(bucket: Bucket, reindex: ReindexApp) -> None:
    key = f"pkg/{WHEEL}"
    publish(bucket, reindex, key, wheel_bytes("pkg", "1.0"))
    good = snapshot(bucket)
    bucket.client.delete_object(Bucket=bucket.name, Key=layout.metadata_key(key))
    page_key = layout.project_page_key("pkg", "html")
    bucket.client.put_object(Bucket=bucket.name, Key=page_key, Body=b"not gzip")
    root = gzip.compress(json.dumps({"projects": [{"name": "pkg"}, {"name": "<b>"}]}).encode())
    bucket.client.put_object(Bucket=bucket.name, Key=layout.ROOT_JSON, Body=root)
    result = reindex.handle({"reindex": "PKG", "verify": True})
    assert result["differences"] == [
        f"{page_key}: differed from its document",
        f"{layout.metadata_key(key)}: missing, rewritten",
        f"{layout.ROOT_JSON}: stored bytes differed from its project list, rewritten",
    ]
    assert snapshot(bucket) == good
