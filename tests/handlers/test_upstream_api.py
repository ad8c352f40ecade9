"""The upstream proxy through the API handler: an in-process moto bucket, and a real fake
upstream index over HTTP on loopback (``support.fake_upstream``)."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from support.apigw import http_event
from support.dists import wheel_bytes, wheel_filename
from support.fake_upstream import FakeUpstream
from support.s3events import s3_body, s3_event, sqs_event

from serverless_pypi import config, layout
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket
from serverless_pypi.upstream import cache, client
from serverless_pypi.upstream import pages as upstream_pages
from serverless_pypi.upstream.copy import CopyJob, copy_file
from serverless_pypi.upstream.proxy import STALE_HEADER, Upstream

JSON = "application/vnd.pypi.simple.v1+json"
PAGE = "https://api.example.test/simple/{}/"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(tmp_path).start()
    upstream.add_wheel("requests", "2.0", requires=("idna",))
    upstream.add_wheel("requests", "2.1", age=timedelta(hours=1))
    upstream.add_wheel("idna", "3.0")
    yield upstream
    upstream.stop()


def make_app(
    bucket: Bucket, fake: FakeUpstream, clock: Clock | None = None, **overrides: Any
) -> tuple[ApiApp, list[CopyJob]]:
    settings = config.Settings(bucket=bucket.name, upstream_index_url=fake.index_url, **overrides)
    app = ApiApp(settings, bucket)
    jobs: list[CopyJob] = []

    def dispatch(job: CopyJob) -> None:
        jobs.append(job)
        copy_file(bucket, job)

    app._upstream = Upstream(settings, bucket, dispatch=dispatch, clock=clock or Clock())
    return app, jobs


def reindexer(
    bucket: Bucket, fake: FakeUpstream, clock: Clock | None = None, **overrides: Any
) -> ReindexApp:
    """The reindex function with the proxy's settings (it renders the upstream pages)."""
    settings = config.Settings(bucket=bucket.name, upstream_index_url=fake.index_url, **overrides)
    app = ReindexApp(settings, bucket)
    assert app.upstream is not None
    app.upstream.clock = clock or Clock()
    return app


def deliver_documents(reindex: ReindexApp, bucket: Bucket) -> None:
    """What the queue does after the API cached documents: their events, as one SQS batch."""
    documents = sorted(keys(bucket, cache.doc_key("")[: -len(".json")]))
    reindex.handle(sqs_event(s3_body(bucket.name, *documents)), None)


def rendered(app: ApiApp, bucket: Bucket, fake: FakeUpstream, project: str) -> dict[str, Any]:
    """The project's page once the reindexer rendered what the first request cached."""
    first = page(app, project)
    deliver_documents(reindexer(bucket, fake), bucket)
    assert set(upstream_pages.EXTENSIONS) == {
        k.rpartition(".")[2] for k in keys(bucket, layout.project_page_key(project, ""))
    }
    return first


def call(app: ApiApp, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    return app.handle(http_event(method, path, **kwargs), None)


def page(app: ApiApp, project: str) -> dict[str, Any]:
    response = call(app, "GET", f"/simple/{project}/", headers={"Accept": JSON})
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def keys(bucket: Bucket, prefix: str = "") -> set[str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.name, Prefix=prefix)
    return {o["Key"] for o in listed.get("Contents", [])}


# -- pages ------------------------------------------------------------------------------------
def test_upstream_page_has_our_urls_and_everything_upstream_gave(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    body = page(app, "requests")
    assert body["versions"] == ["2.0", "2.1"]
    entry = {f["filename"]: f for f in body["files"]}[wheel_filename("requests", "2.0")]
    upstream = fake.projects["requests"][0]
    assert entry["url"] == "../../files/.upstream/requests-2.0-py3-none-any.whl"
    assert entry["hashes"] == {"sha256": upstream.sha256}
    assert entry["size"] == upstream.size
    assert entry["upload-time"].endswith("Z")
    assert upstream.metadata is not None
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(upstream.metadata).hexdigest()}
    html = call(app, "GET", "/simple/requests/")["body"]
    assert 'href="../../files/.upstream/requests-2.0-py3-none-any.whl#sha256=' in html
    assert "data-core-metadata=" in html


def test_html_only_upstream_is_parsed(bucket: Bucket, fake: FakeUpstream) -> None:
    fake.json = False
    app, _ = make_app(bucket, fake)
    body = page(app, "idna")
    assert [f["filename"] for f in body["files"]] == [wheel_filename("idna", "3.0")]
    assert body["files"][0]["hashes"]["sha256"] == fake.projects["idna"][0].sha256


def test_cached_page_is_one_s3_read_and_upstream_is_not_asked_again(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    first = rendered(app, bucket, fake, "idna")
    asked = len(fake.requests)
    calls: list[str] = []
    bucket.client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )
    assert page(app, "idna") == first
    # The served key holds the upstream page: one read, like a private page.
    assert calls == ["GetObject"]
    assert len(fake.requests) == asked


def test_before_the_reindexer_renders_a_page_is_fetched_again(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    first = page(app, "idna")
    assert not keys(bucket, layout.INDEX_PREFIX)  # the API never writes .index/
    asked = len(fake.requests)
    assert page(app, "idna") == first
    assert len(fake.requests) == asked + 1


def test_a_leftover_upstream_page_is_not_served_without_the_proxy(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    rendered(app, bucket, fake, "idna")
    plain = ApiApp(config.Settings(bucket=bucket.name), bucket)
    assert call(plain, "GET", "/simple/idna/")["statusCode"] == 404


def test_page_is_refetched_after_the_ttl(bucket: Bucket, fake: FakeUpstream) -> None:
    clock = Clock()
    app, _ = make_app(bucket, fake, clock)
    rendered(app, bucket, fake, "idna")
    fake.add_wheel("idna", "3.1")
    assert len(page(app, "idna")["files"]) == 1
    clock.now += config.DEFAULT_UPSTREAM_PAGE_TTL + 1
    assert len(page(app, "idna")["files"]) == 2
    deliver_documents(reindexer(bucket, fake), bucket)  # the refreshed document's event
    asked = len(fake.requests)
    assert len(page(app, "idna")["files"]) == 2
    assert len(fake.requests) == asked


def test_upstream_404_is_ours(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    response = call(app, "GET", "/simple/no-such-thing/")
    assert response["statusCode"] == 404
    assert "no project named 'no-such-thing'" in response["body"]


# -- private wins -----------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["requests", "Requests", "REQUESTS"])
def test_private_project_hides_upstream_under_any_spelling(
    bucket: Bucket, fake: FakeUpstream, prefix: str
) -> None:
    settings = config.Settings(bucket=bucket.name)
    filename = wheel_filename("requests", "0.1")
    bucket.client.put_object(
        Bucket=bucket.name, Key=f"{prefix}/{filename}", Body=wheel_bytes("requests", "0.1")
    )
    app, _ = make_app(bucket, fake)
    # Before the reindexer ran (listing), and after (the stored page).
    assert [f["filename"] for f in page(app, "requests")["files"]] == [filename]
    ReindexApp(settings, bucket).rebuild_all()
    assert [f["filename"] for f in page(app, "requests")["files"]] == [filename]
    assert not fake.asked_about("requests")
    upstream_file = call(app, "GET", "/files/.upstream/" + wheel_filename("requests", "2.0"))
    assert upstream_file["statusCode"] == 404


def test_cached_upstream_files_never_make_a_project_private(
    bucket: Bucket, fake: FakeUpstream, settings: config.Settings
) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    assert (
        call(app, "GET", "/files/.upstream/" + wheel_filename("idna", "3.0"))["statusCode"] == 302
    )
    assert keys(bucket, layout.UPSTREAM_PREFIX + "files/")
    ReindexApp(settings, bucket).rebuild_all()
    root = json.loads(call(app, "GET", "/simple/", headers={"Accept": JSON})["body"])
    assert root["projects"] == []
    assert not keys(bucket, layout.INDEX_PREFIX + "projects/")


def test_blocked_name_is_404_and_never_asked(bucket: Bucket, fake: FakeUpstream) -> None:
    fake.add_wheel("acme-tools", "1.0")
    app, _ = make_app(bucket, fake, upstream_block=("acme-*",))
    response = call(app, "GET", "/simple/acme-tools/")
    assert response["statusCode"] == 404
    assert "reserved" in response["body"]
    assert (
        call(app, "GET", "/files/.upstream/" + wheel_filename("acme-tools", "1.0"))["statusCode"]
        == 404
    )
    assert not fake.asked_about("acme-tools")


# -- cooldown ---------------------------------------------------------------------------------
def test_cooldown_hides_young_files_and_files_without_upload_time(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    fake.add(wheel_filename("requests", "1.9"), wheel_bytes("requests", "1.9"), age=None)
    app, _ = make_app(bucket, fake, upstream_min_age=3 * 86400)
    body = page(app, "requests")
    assert [f["filename"] for f in body["files"]] == [wheel_filename("requests", "2.0")]
    assert body["versions"] == ["2.0"]
    young = call(app, "GET", "/files/.upstream/" + wheel_filename("requests", "2.1"))
    assert young["statusCode"] == 404


def test_cooldown_change_rerenders_the_cached_page(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    assert len(rendered(app, bucket, fake, "requests")["files"]) == 2
    cooled, _ = make_app(bucket, fake, upstream_min_age=86400)
    assert len(page(cooled, "requests")["files"]) == 1
    deliver_documents(reindexer(bucket, fake, upstream_min_age=86400), bucket)
    asked = len(fake.requests)
    assert len(page(cooled, "requests")["files"]) == 1
    assert len(fake.requests) == asked  # rendered with the cooldown by the reindexer


# -- files ------------------------------------------------------------------------------------
def test_first_download_redirects_upstream_then_the_bucket(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, jobs = make_app(bucket, fake)
    rendered(app, bucket, fake, "idna")  # an upstream page at the served key is not private
    path = "/files/.upstream/" + wheel_filename("idna", "3.0")
    first = call(app, "GET", path)
    assert first["statusCode"] == 302
    assert first["headers"]["Location"] == urljoin(fake.index_url, "../files/") + wheel_filename(
        "idna", "3.0"
    )
    assert [j.filename for j in jobs] == [wheel_filename("idna", "3.0")]
    key = cache.file_key("idna", wheel_filename("idna", "3.0"))
    stored = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == fake.projects["idna"][0].sha256
    fake.stop()
    second = call(app, "GET", path)
    assert second["statusCode"] == 302
    assert "X-Amz-Signature" in second["headers"]["Location"]
    assert key in second["headers"]["Location"]


def test_sha256_mismatch_is_never_kept(bucket: Bucket, fake: FakeUpstream) -> None:
    fake.hostile["idna"] = "bad-sha"
    app, jobs = make_app(bucket, fake)
    page(app, "idna")
    call(app, "GET", "/files/.upstream/" + wheel_filename("idna", "3.0"))
    assert jobs
    assert not keys(bucket, layout.UPSTREAM_PREFIX + "files/")
    multipart = bucket.client.list_multipart_uploads(Bucket=bucket.name)
    assert not multipart.get("Uploads")


def test_size_mismatch_is_never_kept(bucket: Bucket, fake: FakeUpstream) -> None:
    entry = fake.projects["idna"][0]
    job = CopyJob(
        "idna",
        entry.filename,
        urljoin(fake.index_url, "../files/" + entry.filename),
        entry.sha256,
        entry.size - 1,
    )
    assert copy_file(bucket, job) is False
    assert not keys(bucket, layout.UPSTREAM_PREFIX)


def test_metadata_is_served_checked_and_kept(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    path = "/files/.upstream/" + wheel_filename("idna", "3.0") + ".metadata"
    first = call(app, "GET", path)
    assert first["statusCode"] == 200
    assert first["body"] == fake.projects["idna"][0].metadata.decode()  # type: ignore[union-attr]
    fake.stop()
    assert call(app, "GET", path)["body"] == first["body"]


def test_unknown_upstream_file_is_404(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    for name in ("idna-9.9-py3-none-any.whl", "not-a-dist.txt", "idna-9.9.tar.gz.metadata"):
        assert call(app, "GET", "/files/.upstream/" + name)["statusCode"] == 404


def test_without_upstream_the_prefix_is_not_served(bucket: Bucket, fake: FakeUpstream) -> None:
    app = ApiApp(config.Settings(bucket=bucket.name), bucket)
    response = call(app, "GET", "/files/.upstream/" + wheel_filename("idna", "3.0"))
    assert response["statusCode"] == 404


# -- outages ----------------------------------------------------------------------------------
@pytest.mark.parametrize("stored_page", [True, False], ids=["rendered", "document-only"])
def test_outage_serves_the_last_good_page_marked_stale(
    bucket: Bucket, fake: FakeUpstream, caplog: pytest.LogCaptureFixture, stored_page: bool
) -> None:
    clock = Clock()
    app, _ = make_app(bucket, fake, clock)
    fresh = rendered(app, bucket, fake, "idna") if stored_page else page(app, "idna")
    fake.stop()
    clock.now += config.DEFAULT_UPSTREAM_PAGE_TTL + 1
    response = call(app, "GET", "/simple/idna/", headers={"Accept": JSON})
    assert response["statusCode"] == 200
    assert STALE_HEADER in response["headers"]
    assert json.loads(response["body"])["files"] == fresh["files"]
    assert "serving the last good page" in caplog.text


def test_never_seen_project_during_an_outage_is_502(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    fake.stop()
    response = call(app, "GET", "/simple/idna/")
    assert response["statusCode"] == 502
    assert "upstream index cannot be reached" in response["body"]


def test_upstream_that_never_answers_is_504(
    bucket: Bucket, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does), never answers
    monkeypatch.setattr(client, "PAGE_TIMEOUT", 0.5)
    try:
        settings = config.Settings(
            bucket=bucket.name,
            upstream_index_url=f"http://127.0.0.1:{silent.getsockname()[1]}/simple/",
        )
        response = call(ApiApp(settings, bucket), "GET", "/simple/idna/")
    finally:
        silent.close()
    assert response["statusCode"] == 504
    assert "did not answer" in response["body"]


# -- hostile upstream -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("bad-json", "not JSON"),
        ("huge", "more than 32 MiB"),
        ("redirect", "redirected to another host"),
    ],
)
def test_hostile_page_is_a_clear_502(
    bucket: Bucket, fake: FakeUpstream, mode: str, message: str
) -> None:
    fake.hostile["idna"] = mode
    app, _ = make_app(bucket, fake)
    response = call(app, "GET", "/simple/idna/")
    assert response["statusCode"] == 502
    assert message in response["body"]
    assert not keys(bucket, layout.UPSTREAM_PREFIX)


def test_hostile_names_and_urls_are_skipped_and_escaped(
    bucket: Bucket, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    fake.hostile["idna"] = "hostile-names"
    app, _ = make_app(bucket, fake)
    body = page(app, "idna")
    assert [f["filename"] for f in body["files"]] == [
        wheel_filename("idna", "3.0"),
        "idna-6.9-py3-none-any.whl",
    ]
    hostile = body["files"][1]
    assert hostile["yanked"] == '"><script>alert(1)</script>'  # JSON-escaped by json.dumps
    assert hostile["url"] == "../../files/.upstream/idna-6.9-py3-none-any.whl"
    html = call(app, "GET", "/simple/idna/")["body"]
    assert "<script>" not in html
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "169.254" not in html and "javascript:" not in html and "file:" not in html
    assert "upstream files skipped" in caplog.text


def test_hostile_requires_python_skips_the_file(bucket: Bucket, fake: FakeUpstream) -> None:
    fake.projects["idna"][0].requires_python = '"><img src=x>'
    app, _ = make_app(bucket, fake)
    assert page(app, "idna")["files"] == []


def test_cache_document_is_gzipped_and_revalidated(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    stored = bucket.client.get_object(Bucket=bucket.name, Key=cache.doc_key("idna"))["Body"]
    document = json.loads(gzip.decompress(stored.read()))
    document["files"][0]["url"] = "javascript:alert(1)"
    bucket.put(cache.doc_key("idna"), gzip.compress(json.dumps(document).encode()), "x")
    loaded = cache.load_document(bucket, "idna", fake.index_url)
    assert loaded is not None and loaded.files == ()


# -- the copy function ------------------------------------------------------------------------
class Context:
    aws_request_id = "copy-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


@pytest.fixture
def copy_handler(
    bucket: Bucket, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    from serverless_pypi.upstream import copy

    monkeypatch.setenv(config.BUCKET, bucket.name)
    monkeypatch.setenv(config.UPSTREAM_INDEX_URL, fake.index_url)
    copy._container.cache_clear()
    yield copy.handler
    copy._container.cache_clear()


def test_copy_function_keeps_the_file(
    copy_handler: Any, bucket: Bucket, fake: FakeUpstream
) -> None:
    entry = fake.projects["idna"][0]
    url = urljoin(fake.index_url, "../files/" + entry.filename)
    job = CopyJob("idna", entry.filename, url, entry.sha256, entry.size)
    assert copy_handler(job.to_event(), Context()) == {"copied": True}
    assert keys(bucket, layout.UPSTREAM_PREFIX) == {cache.file_key("idna", entry.filename)}
    assert copy_handler(job.to_event(), Context()) == {"copied": True}  # idempotent


@pytest.mark.parametrize(
    "change",
    [
        {"url": "http://169.254.169.254/latest/meta-data"},
        {"filename": "other-1.0-py3-none-any.whl"},
        {"sha256": "nothex"},
        {"size": -5},
    ],
)
def test_copy_function_refuses_forged_events(
    copy_handler: Any, bucket: Bucket, fake: FakeUpstream, change: dict[str, Any]
) -> None:
    entry = fake.projects["idna"][0]
    url = urljoin(fake.index_url, "../files/" + entry.filename)
    event = CopyJob("idna", entry.filename, url, entry.sha256, entry.size).to_event()
    event["upstream_copy"].update(change)
    answer = copy_handler(event, Context())
    assert answer == {"copied": False, "reason": "malformed copy event"}
    assert not keys(bucket, layout.UPSTREAM_PREFIX)


def test_lambda_dispatcher_invokes_the_copy_function_asynchronously() -> None:
    from botocore.stub import Stubber

    from serverless_pypi.upstream.copy import LambdaDispatcher

    dispatcher = LambdaDispatcher("pypi-upstream-copy", "us-east-1")
    job = CopyJob("idna", "idna-3.0-py3-none-any.whl", "https://f.example/x.whl", "a" * 64, 3)
    with Stubber(dispatcher._client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "pypi-upstream-copy",
                "InvocationType": "Event",
                "Payload": json.dumps(job.to_event()).encode(),
            },
        )
        dispatcher(job)
        stub.assert_no_pending_responses()


# -- authentication ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/simple/idna/", "/files/.upstream/idna-3.0-py3-none-any.whl"])
def test_authentication_covers_proxied_projects(
    bucket: Bucket, fake: FakeUpstream, path: str
) -> None:
    app, _ = make_app(bucket, fake, auth="basic")
    denied = http_event("GET", path)
    denied["requestContext"]["authorizer"] = {"lambda": {"authenticated": False}}
    assert app.handle(denied, None)["statusCode"] == 401
    assert not fake.asked_about("idna")
    allowed = http_event("GET", "/simple/idna/")
    reader = {"authenticated": True, "username": "alice", "uploader": False}
    allowed["requestContext"]["authorizer"] = {"lambda": reader}
    assert app.handle(allowed, None)["statusCode"] == 200


def test_reindex_events_about_the_cache_are_ignored_quietly(
    bucket: Bucket, fake: FakeUpstream, settings: config.Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    call(app, "GET", "/files/.upstream/" + wheel_filename("idna", "3.0"))
    cached = sorted(keys(bucket, layout.UPSTREAM_PREFIX))
    assert len(cached) == 2  # the document and the copy; pages are the reindexer's
    ReindexApp(settings, bucket).handle(s3_event(bucket.name, *cached), None)  # no proxy
    assert not keys(bucket, layout.INDEX_PREFIX)
    reindexer(bucket, fake).handle(s3_event(bucket.name, *cached), None)  # SNS delivery
    assert keys(bucket, layout.INDEX_PREFIX) == {
        layout.project_page_key("idna", extension) for extension in upstream_pages.EXTENSIONS
    }
    assert "ignored object" not in caplog.text


# -- upstream pages at the served keys (the reindexer's) --------------------------------------
def _upload_private(bucket: Bucket, project: str = "idna", version: str = "0.1") -> str:
    filename = wheel_filename(project, version)
    bucket.client.put_object(
        Bucket=bucket.name, Key=f"{project}/{filename}", Body=wheel_bytes(project, version)
    )
    return filename


def _served_files(app: ApiApp, project: str = "idna") -> list[str]:
    return [f["filename"] for f in page(app, project)["files"]]


def test_a_private_page_is_never_replaced_by_an_upstream_render(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")  # the document is cached while idna is not private yet
    private = _upload_private(bucket)
    reindex = reindexer(bucket, fake)
    reindex.rebuild_project("idna")
    deliver_documents(reindex, bucket)  # the upstream document's event comes late
    assert _served_files(app) == [private]


def test_a_private_upload_replaces_an_upstream_page(bucket: Bucket, fake: FakeUpstream) -> None:
    app, _ = make_app(bucket, fake)
    rendered(app, bucket, fake, "idna")
    private = _upload_private(bucket)
    reindex = reindexer(bucket, fake)
    reindex.handle(sqs_event(s3_body(bucket.name, f"idna/{private}")), None)
    assert _served_files(app) == [private]
    upstream_file = "/files/.upstream/" + wheel_filename("idna", "3.0")
    assert call(app, "GET", upstream_file)["statusCode"] == 404
    deliver_documents(reindex, bucket)  # a redelivered upstream event changes nothing
    assert _served_files(app) == [private]


def test_one_batch_with_both_events_serves_the_private_page(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    private = _upload_private(bucket)
    body = s3_body(bucket.name, cache.doc_key("idna"), f"idna/{private}")
    reindexer(bucket, fake).handle(sqs_event(body), None)
    assert _served_files(app) == [private]


class _PrivateUploadBeforeFirstWrite:
    """A bucket whose first page write by the upstream renderer is preceded by a private
    upload and its reindex: the interleaving between the renderer's checks and its write."""

    def __init__(self, bucket: Bucket, on_first_put: Any) -> None:
        self._bucket = bucket
        self._on_first_put = on_first_put

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)

    def put(self, *args: Any, **kwargs: Any) -> str:
        if self._on_first_put is not None:
            hook, self._on_first_put = self._on_first_put, None
            hook()
        return self._bucket.put(*args, **kwargs)


@pytest.mark.parametrize("before", [False, True], ids=["no-page-yet", "upstream-page-there"])
def test_a_private_page_written_between_check_and_write_wins(
    bucket: Bucket, fake: FakeUpstream, before: bool
) -> None:
    app, _ = make_app(bucket, fake)
    clock = Clock()
    if before:
        rendered(app, bucket, fake, "idna")
        clock.now += config.DEFAULT_UPSTREAM_PAGE_TTL + 1
        app, _ = make_app(bucket, fake, clock)
        fake.add_wheel("idna", "3.1")
    page(app, "idna")  # (re)fetched: a newer document, whose event is handled below
    reindex = reindexer(bucket, fake, clock)
    private: list[str] = []

    def private_upload() -> None:
        private.append(_upload_private(bucket))
        reindexer(bucket, fake).rebuild_project("idna")

    assert reindex.upstream is not None
    reindex.upstream.bucket = _PrivateUploadBeforeFirstWrite(bucket, private_upload)  # type: ignore[assignment]
    deliver_documents(reindex, bucket)
    assert private
    assert _served_files(app) == private
    for extension in upstream_pages.EXTENSIONS:
        head = bucket.head(layout.project_page_key("idna", extension))
        assert head is not None and upstream_pages.stored_page(head.metadata) is None


def test_removing_the_last_private_file_lets_the_upstream_serve_again(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    private = _upload_private(bucket)
    reindex = reindexer(bucket, fake)
    reindex.rebuild_project("idna")
    assert _served_files(app) == [private]
    bucket.client.delete_object(Bucket=bucket.name, Key=f"idna/{private}")
    event = s3_body(bucket.name, f"idna/{private}", event="ObjectRemoved:Delete")
    reindex.handle(sqs_event(event), None)
    assert _served_files(app) == [wheel_filename("idna", "3.0")]


def test_a_verifying_rebuild_leaves_upstream_pages_alone(
    bucket: Bucket, fake: FakeUpstream
) -> None:
    app, _ = make_app(bucket, fake)
    _upload_private(bucket, "requests")
    reindex = reindexer(bucket, fake)
    reindex.rebuild_all()
    rendered(app, bucket, fake, "idna")
    before = {k: bucket.head(k) for k in keys(bucket, layout.project_page_key("idna", ""))}
    report = reindex.rebuild_all(verify=True)
    assert report.differences == []
    assert {k: bucket.head(k) for k in before} == before
    root = json.loads(call(app, "GET", "/simple/", headers={"Accept": JSON})["body"])
    assert [p["name"] for p in root["projects"]] == ["requests"]


def test_upstream_document_events_are_checked(
    bucket: Bucket, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    """Events naming odd keys under the document prefix, or documents that lie, render
    nothing; nothing fails."""
    app, _ = make_app(bucket, fake)
    page(app, "idna")
    bucket.put(cache.doc_key("Not_Canonical"), b"x", "application/json")
    bucket.put(cache.doc_key("requests"), gzip.compress(b'{"project": "idna"}'), "x")
    bucket.put(cache.doc_key("broken"), b"not gzip", "x")
    odd = [cache.doc_key("Not_Canonical"), cache.doc_key("requests"), cache.doc_key("broken")]
    odd += [layout.UPSTREAM_PREFIX + "projects/.json", layout.UPSTREAM_PREFIX + "projects/x"]
    answer = reindexer(bucket, fake).handle(sqs_event(s3_body(bucket.name, *odd)), None)
    assert answer == {"batchItemFailures": []}
    assert not keys(bucket, layout.INDEX_PREFIX)
