"""Project status markers (PEP 792) at handler level: marker → reindex → pages → API."""

from __future__ import annotations

import hashlib
import json
import logging
from html.parser import HTMLParser
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import wheel_bytes
from support.forms import multipart, upload_fields
from support.s3events import s3_event

from serverless_pypi import config, layout, status
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.status import ProjectStatus, Status
from serverless_pypi.storage import Bucket

JSON = "application/vnd.pypi.simple.v1+json"
WHEEL = "pkg-1.0-py3-none-any.whl"


@pytest.fixture
def reindex(settings: config.Settings, bucket: Bucket) -> ReindexApp:
    return ReindexApp(settings, bucket)


@pytest.fixture
def api(bucket: Bucket) -> ApiApp:
    app = ApiApp(config.Settings(bucket=bucket.name, uploads="unauthenticated-insecure"), bucket)
    app.status_cache_seconds = 0  # each request reads the marker (the cache has its own test)
    return app


def publish(bucket: Bucket, reindex: ReindexApp, key: str, data: bytes) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)
    reindex.handle(s3_event(bucket.name, key))


def set_status(bucket: Bucket, reindex: ReindexApp, project: str, wanted: ProjectStatus) -> None:
    status.write(bucket, project, wanted)
    event = "ObjectRemoved:Delete" if wanted.status is Status.ACTIVE else "ObjectCreated:Put"
    reindex.handle(s3_event(bucket.name, layout.status_key(project), event=event))


def get(api: ApiApp, path: str, accept: str = JSON) -> dict[str, Any]:
    return api.handle(http_event("GET", path, headers={"Accept": accept}))


def json_page(api: ApiApp, project: str = "pkg") -> dict[str, Any]:
    response = get(api, f"/simple/{project}/")
    assert response["statusCode"] == 200, response
    return dict(json.loads(response["body"]))


class Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("name"):
            self.meta[str(found["name"])] = str(found.get("content"))
        elif tag == "a":
            self.links.append(str(found.get("href")))


def html_page(api: ApiApp, project: str = "pkg") -> Meta:
    response = get(api, f"/simple/{project}/", accept="text/html")
    assert response["statusCode"] == 200, response
    parsed = Meta()
    parsed.feed(response["body"])
    return parsed


@pytest.fixture
def indexed(bucket: Bucket, reindex: ReindexApp) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))


@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize("state", [Status.ARCHIVED, Status.QUARANTINED, Status.DEPRECATED])
def test_pages_carry_the_status_and_reason(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp, state: Status
) -> None:
    reason = 'moved to "pkg2" <see docs> & more'
    set_status(bucket, reindex, "pkg", ProjectStatus(state, reason))

    page = json_page(api)
    assert page["meta"] == {"api-version": "1.4"}
    assert page["project-status"] == {"status": state.value, "reason": reason}
    html = html_page(api)
    assert html.meta["pypi:repository-version"] == "1.4"
    assert html.meta["pypi:project-status"] == state.value
    assert html.meta["pypi:project-status-reason"] == reason  # escaped, read back whole

    served = state is not Status.QUARANTINED
    assert [f["filename"] for f in page["files"]] == ([WHEEL] if served else [])
    assert page["versions"] == (["1.0"] if served else [])
    assert len(html.links) == (1 if served else 0)


@pytest.mark.usefixtures("indexed")
def test_active_pages_have_no_status_and_a_status_without_reason_has_no_reason(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    page = json_page(api)
    assert "project-status" not in page and page["meta"]["api-version"] == "1.4"
    assert "pypi:project-status" not in html_page(api).meta

    set_status(bucket, reindex, "pkg", ProjectStatus(Status.ARCHIVED))
    assert json_page(api)["project-status"] == {"status": "archived"}
    assert "pypi:project-status-reason" not in html_page(api).meta

    set_status(bucket, reindex, "pkg", status.ACTIVE)
    assert "project-status" not in json_page(api)
    assert bucket.head(layout.status_key("pkg")) is None  # active is no marker at all


@pytest.mark.usefixtures("indexed")
def test_quarantine_hides_file_urls_and_metadata_until_reactivated(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    file_url, metadata_url = f"/files/pkg/{WHEEL}", f"/files/pkg/{WHEEL}.metadata"
    assert get(api, file_url)["statusCode"] == 302
    assert get(api, metadata_url)["statusCode"] == 200

    set_status(bucket, reindex, "pkg", ProjectStatus(Status.QUARANTINED, "malware"))
    for url in (file_url, metadata_url):
        response = get(api, url)
        assert response["statusCode"] == 404
        assert "quarantined" in response["body"] and "malware" in response["body"]
        assert "Location" not in response["headers"]

    set_status(bucket, reindex, "pkg", status.ACTIVE)
    assert get(api, file_url)["statusCode"] == 302
    assert get(api, metadata_url)["statusCode"] == 200
    assert [f["filename"] for f in json_page(api)["files"]] == [WHEEL]


def upload(api: ApiApp, version: str = "1.1") -> dict[str, Any]:
    filename = f"pkg-{version}-py3-none-any.whl"
    data = wheel_bytes("pkg", version)
    content_type, body = multipart(upload_fields("pkg", version, filename, data), (filename, data))
    event = http_event("POST", "/legacy/", headers={"Content-Type": content_type}, body=body)
    return api.handle(event)


@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize("state", [Status.ARCHIVED, Status.QUARANTINED])
def test_uploads_refused_while_closed_and_nothing_written(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp, state: Status
) -> None:
    status.write(bucket, "pkg", ProjectStatus(state, "read only"))
    response = upload(api)
    assert response["statusCode"] == 403
    assert state.value in response["body"] and "read only" in response["body"]
    assert "serverless-pypi status pkg active" in response["body"]
    assert bucket.head("pkg/pkg-1.1-py3-none-any.whl") is None
    # An identical re-upload of an existing file is refused too: nothing at all is taken.
    assert upload(api, "1.0")["statusCode"] == 403

    status.write(bucket, "pkg", ProjectStatus(Status.DEPRECATED))
    assert upload(api)["statusCode"] == 200


def test_status_outlives_file_events_and_a_full_rebuild(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    set_status(bucket, reindex, "pkg", ProjectStatus(Status.DEPRECATED, "use pkg2"))
    publish(bucket, reindex, "Pkg/pkg-1.1-py3-none-any.whl", wheel_bytes("pkg", "1.1"))
    expected = {"status": "deprecated", "reason": "use pkg2"}
    assert json_page(api)["project-status"] == expected  # a file event keeps the status

    for obj in list(bucket.list_objects(layout.INDEX_PREFIX)):
        bucket.delete(obj.key)
    reindex.handle({"reindex": "*"})
    assert json_page(api)["project-status"] == expected
    assert len(json_page(api)["files"]) == 2

    # A marker removed without an event: the next rebuild (one project or all) notices.
    bucket.delete(layout.status_key("pkg"))
    reindex.handle({"reindex": "pkg"})
    assert "project-status" not in json_page(api)
    status.write(bucket, "pkg", ProjectStatus(Status.QUARANTINED))
    report = reindex.handle({"reindex": "*", "verify": True})
    assert json_page(api)["project-status"] == {"status": "quarantined"}
    assert json_page(api)["files"] == []
    assert report["projects"] == 1
    assert report["differences"] == [  # a verifying rebuild says what it repaired
        ".index/projects/pkg.json: status recorded as 'active', the marker says 'quarantined'"
    ]
    assert reindex.handle({"reindex": "*", "verify": True})["differences"] == []


def test_a_marker_set_before_the_first_file_applies_to_it(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    status.write(bucket, "newpkg", ProjectStatus(Status.QUARANTINED, "name reserved"))
    data = wheel_bytes("newpkg", "1.0")
    publish(bucket, reindex, "newpkg/newpkg-1.0-py3-none-any.whl", data)  # written bucket-direct
    page = json_page(api, "newpkg")
    assert page["project-status"]["status"] == "quarantined" and page["files"] == []


def test_unindexed_project_page_shows_the_status(bucket: Bucket, api: ApiApp) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=f"pkg/{WHEEL}", Body=wheel_bytes("pkg", "1.0"))
    status.write(bucket, "pkg", ProjectStatus(Status.QUARANTINED))
    page = json_page(api)  # no reindex ran: the page comes from a listing
    assert page["project-status"] == {"status": "quarantined"} and page["files"] == []


HOSTILE = {
    "huge": b'{"status": "quarantined", "reason": "' + b"x" * 10_000_000 + b'"}',
    "bad json": b'{"status": "quarantined"',
    "unknown status": b'{"status": "haunted"}',
    "not an object": b'["quarantined"]',
    "status not a string": b'{"status": ["quarantined"]}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "not utf-8": b'{"status": "\xff\xfe"}',
}


@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markers_are_ignored_and_logged(
    bucket: Bucket,
    reindex: ReindexApp,
    api: ApiApp,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_status(bucket, reindex, "pkg", ProjectStatus(Status.ARCHIVED, "kept"))
    bucket.client.put_object(Bucket=bucket.name, Key=layout.status_key("pkg"), Body=body)
    with caplog.at_level(logging.WARNING, logger="serverless_pypi"):
        reindex.handle(s3_event(bucket.name, layout.status_key("pkg")))
        reindex.handle({"reindex": "*"})
    assert any(r.getMessage() == "ignored status marker" for r in caplog.records)
    # The recorded status stands; the API treats the unreadable marker as no marker.
    assert json_page(api)["project-status"] == {"status": "archived", "reason": "kept"}
    assert get(api, f"/files/pkg/{WHEEL}")["statusCode"] == 302
    assert upload(api)["statusCode"] == 200


def test_a_reason_over_the_bound_is_cut_and_a_marker_read_is_bounded(bucket: Bucket) -> None:
    body = json.dumps({"status": "archived", "reason": "é" * 1200}, ensure_ascii=False).encode()
    bucket.put(layout.status_key("pkg"), body, "application/json")
    assert len(body) < status.MAX_MARKER_BYTES
    read = status.read(bucket, "pkg")
    assert read.status is Status.ARCHIVED and read.reason == "é" * status.MAX_REASON
    with pytest.raises(Exception, match="longer than"):
        status.clean_reason("x" * (status.MAX_REASON + 1))


def test_markers_under_other_spellings_are_ignored(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    bucket.put(".status/PKG", b'{"status": "quarantined"}', "application/json")
    result = reindex.handle(s3_event(bucket.name, ".status/PKG"))
    reindex.handle({"reindex": "*"})
    assert result["skipped"] == 1
    assert "project-status" not in json_page(api)


def test_document_keeps_bytes_of_active_projects(bucket: Bucket, reindex: ReindexApp) -> None:
    """Documents of active projects are as before status markers existed (no new field), so
    an upgrade rewrites none of them."""
    publish(bucket, reindex, f"pkg/{WHEEL}", wheel_bytes("pkg", "1.0"))
    stored = bucket.get(layout.project_doc_key("pkg"))
    assert stored is not None and "status" not in json.loads(stored[0])
    digest = hashlib.sha256(stored[0]).hexdigest()
    set_status(bucket, reindex, "pkg", ProjectStatus(Status.ARCHIVED))
    set_status(bucket, reindex, "pkg", status.ACTIVE)
    again = bucket.get(layout.project_doc_key("pkg"))
    assert again is not None and hashlib.sha256(again[0]).hexdigest() == digest


@pytest.mark.usefixtures("indexed")
def test_file_requests_trust_a_marker_read_for_a_few_seconds(
    bucket: Bucket, api: ApiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serverless_pypi.api.app as app_module

    clock = [1000.0]
    monkeypatch.setattr(app_module.time, "monotonic", lambda: clock[0])
    api.status_cache_seconds = app_module.STATUS_CACHE_SECONDS
    file_url = f"/files/pkg/{WHEEL}"
    assert get(api, file_url)["statusCode"] == 302
    status.write(bucket, "pkg", ProjectStatus(Status.QUARANTINED))
    assert get(api, file_url)["statusCode"] == 302  # read 0 s ago: still trusted
    clock[0] += app_module.STATUS_CACHE_SECONDS
    assert get(api, file_url)["statusCode"] == 404


@pytest.mark.usefixtures("indexed")
def test_quarantine_takes_the_web_pages_and_the_pypi_json_away_until_reactivated(
    bucket: Bucket, reindex: ReindexApp, api: ApiApp
) -> None:
    """The PyPI JSON API is where Renovate and Dependabot look: a quarantined release must not
    be offered there either, nor on the project's page for people."""
    urls = ("/pypi/pkg/json", "/pypi/pkg/1.0/json", "/project/pkg/")
    assert [get(api, url, "text/html")["statusCode"] for url in urls] == [200, 200, 200]

    set_status(bucket, reindex, "pkg", ProjectStatus(Status.QUARANTINED, "malware"))
    assert [get(api, url, "text/html")["statusCode"] for url in urls] == [404, 404, 404]

    set_status(bucket, reindex, "pkg", status.ACTIVE)
    assert [get(api, url, "text/html")["statusCode"] for url in urls] == [200, 200, 200]
    released = json.loads(get(api, "/pypi/pkg/json")["body"])
    assert [f["filename"] for f in released["urls"]] == [WHEEL]
