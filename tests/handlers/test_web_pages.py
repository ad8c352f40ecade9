"""The human pages: rendered by the reindex handler, served by the API handler (in-process
moto). What a browser shows is checked in tests/e2e/test_e2e_browser.py."""

from __future__ import annotations

import gzip
from dataclasses import replace
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from support.indexing import publish
from support.s3events import s3_event

from serverless_pypi import config, layout
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket
from serverless_pypi.web import cards

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
PIP = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
MARKDOWN = (
    "# Widget\n\nA **bold** claim.\n\n<script>window.pwned = 1</script>\n\n"
    "![logo](https://tracker.example/logo.png) ![local](logo.png)\n\n"
    "[click](javascript:alert(1))\n"
)


def get(api: ApiApp, path: str, accept: str = BROWSER, **kwargs: Any) -> dict[str, Any]:
    return api.handle(http_event("GET", path, headers={"Accept": accept}, **kwargs), None)


def widget(bucket: Bucket, reindex: ReindexApp, version: str = "1.0", **kwargs: Any) -> None:
    headers = (
        "Summary: Makes widgets",
        "Description-Content-Type: text/markdown",
        "Project-URL: Source, https://git.example/widget",
    )
    data = wheel_bytes(
        "Widget", version, requires_python=">=3.9", headers=headers, description=MARKDOWN, **kwargs
    )
    publish(bucket, reindex, f"widget/{wheel_filename('widget', version)}", data)


def test_project_page_shows_the_rendered_sanitized_description(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex)
    response = get(api, "/project/widget/")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    page = response["body"]
    assert "<title>Widget 1.0</title>" in page
    assert "Makes widgets" in page and "&gt;=3.9" in page
    assert "<strong>bold</strong>" in page
    assert "window.pwned" not in page.replace("&lt;script&gt;window.pwned", "")
    assert "<script>window.pwned" not in page
    assert "tracker.example" not in page  # remote image dropped, its alt text kept
    assert 'alt="logo"' in page and 'src="logo.png"' in page
    assert "javascript:" not in page
    assert 'href="https://git.example/widget"' in page
    assert "widget-1.0-py3-none-any.whl" in page and "sha256=" in page
    assert 'href="../../files/widget/widget-1.0-py3-none-any.whl"' in page


def test_version_pages_and_latest_skip_prereleases_and_yanked(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    for version in ("1.0", "1.1", "2.0b1"):
        widget(bucket, reindex, version)
    page = get(api, "/project/widget/")["body"]
    assert "<title>Widget 1.1</title>" in page
    assert 'href="2.0b1/"' in page and 'href="1.0/"' in page
    old = get(api, "/project/widget/1.0/")
    assert old["statusCode"] == 200 and "<title>Widget 1.0</title>" in old["body"]
    assert 'href="../../../files/widget/widget-1.0-py3-none-any.whl"' in old["body"]
    assert "widget-1.1" not in old["body"]  # only its own files
    # Yanking 1.1 makes 1.0 the latest; the yank reason is shown.
    key = f"widget/{wheel_filename('widget', '1.1')}"
    bucket.put(layout.yank_key(key), b"broken build", "text/plain")
    reindex.handle(s3_event(bucket.name, layout.yank_key(key)))
    page = get(api, "/project/widget/")["body"]
    assert "<title>Widget 1.0</title>" in page
    assert "broken build" in get(api, "/project/widget/1.1/")["body"]


def test_only_changed_versions_are_rendered_again(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex, "1.0")
    first = bucket.head(layout.web_version_key("widget", "1.0", "html"))
    widget(bucket, reindex, "1.1")
    again = bucket.head(layout.web_version_key("widget", "1.0", "html"))
    assert first is not None and again is not None and first.etag == again.etag
    assert first.last_modified == again.last_modified


def test_sdist_only_release_gets_its_description_from_pkg_info(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    rst = "Gadget\n======\n\nSome *emphasis*.\n"
    data = sdist_bytes("gadget", "0.3", headers=("Summary: Gadgets",), description=rst)
    publish(bucket, reindex, f"gadget/{sdist_filename('gadget', '0.3')}", data)
    page = get(api, "/project/gadget/")["body"]
    assert "<em>emphasis</em>" in page and "Gadgets" in page


def test_non_canonical_names_and_versions_redirect(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex, "1.0")
    cases = {
        "/project/Widget/": "../../project/widget/",
        "/project/widget": "widget/",
        "/project/widget/01.0/": "../../../project/widget/1.0/",
        "/project/widget/1.0-A1/": "../../../project/widget/1.0a1/",
    }
    for path, location in cases.items():
        response = get(api, path)
        assert response["statusCode"] == 301, path
        assert response["headers"]["Location"] == location, path


def test_browser_404_page_says_what_was_looked_for(api: ApiApp) -> None:
    response = get(api, "/project/nothing-here/")
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert "nothing-here" in response["body"] and 'href="../../"' in response["body"]
    # Installers and curl keep the plain-text 404s.
    for accept in (PIP, "*/*"):
        plain = get(api, "/simple/nothing-here/", accept)
        assert plain["statusCode"] == 404
        assert plain["headers"]["Content-Type"].startswith("text/plain")


def test_root_is_a_welcome_page_for_browsers_only(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex, "1.0")
    page = get(api, "/")
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    body = page["body"]
    assert "[[tool.uv.index]]" in body and "[[tool.pdm.source]]" in body
    assert "poetry source add" in body and "index-url" in body
    assert 'href="project/widget/"' in body and "Makes widgets" in body
    for accept in (PIP, "*/*", "application/vnd.pypi.simple.v1+json", "text/plain"):
        response = get(api, "/", accept)
        assert response["statusCode"] == 302 and response["headers"]["Location"] == "simple/"
    # ?format= asks for the protocol page, whatever the browser sends.
    response = get(api, "/", query="format=text/html")
    assert response["statusCode"] == 302


def test_welcome_page_search_and_paging(api: ApiApp, bucket: Bucket) -> None:
    # Cards written straight into the shards: 450 projects, newest release first.
    shards: dict[int, cards.Shard] = {}
    for n in range(450):
        name = f"proj-{n:03d}"
        released = f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}.000000Z"
        card = cards.Card(name, "1.0", "special" if n == 7 else "ordinary", released)
        shards.setdefault(cards.shard_of(name), {})[name] = card
    for number, shard in shards.items():
        bucket.put(layout.catalog_key(number), cards.dump(shard), "application/json")
    first = get(api, "/")["body"]
    assert "450 projects" in first and "Page 1 of 3" in first
    assert first.index("proj-449") < first.index("proj-448")
    assert "proj-249" not in first and 'href="./?page=2"' in first
    third = get(api, "/", query="page=3")["body"]
    assert "proj-000" in third and "proj-449" not in third
    found = get(api, "/", query="q=PROJ_007")["body"]
    assert "1 project matching" in found and 'href="project/proj-007/"' in found
    assert "1 project matching" in get(api, "/", query="q=special")["body"]
    assert "No project matches" in get(api, "/", query="q=zzz")["body"]
    # Hostile input is escaped, bounded and never an error.
    hostile = get(api, "/", query="q=%3Cscript%3E&page=999999999999")
    assert hostile["statusCode"] == 200 and "<script>alert" not in hostile["body"]
    assert "&lt;script&gt;" in hostile["body"]


def test_deleting_every_file_removes_the_pages_and_the_card(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex, "1.0")
    key = f"widget/{wheel_filename('widget', '1.0')}"
    bucket.delete(key)
    reindex.handle(s3_event(bucket.name, key, event="ObjectRemoved:Delete"))
    assert get(api, "/project/widget/")["statusCode"] == 404
    assert get(api, "/project/widget/1.0/")["statusCode"] == 404
    listed = [o.key for o in bucket.list_objects(layout.WEB_PREFIX)]
    assert all(k.startswith(layout.WEB_PREFIX + "catalog/") for k in listed), listed
    shard = bucket.get(layout.catalog_key(cards.shard_of("widget")))
    assert shard is not None and "widget" not in cards.load(shard[0])
    assert "No projects yet" in get(api, "/")["body"]


def test_pages_are_stored_gzipped_and_served_in_one_read(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex, "1.0")
    stored = bucket.get(layout.web_project_key("widget", "html"))
    assert stored is not None and b"Makes widgets" in gzip.decompress(stored[0])
    response = api.handle(
        http_event(
            "GET", "/project/widget/", headers={"Accept": BROWSER, "Accept-Encoding": "gzip"}
        ),
        None,
    )
    assert response["headers"]["Content-Encoding"] == "gzip" and response["isBase64Encoded"]
    etag = response["headers"]["ETag"]
    again = api.handle(
        http_event(
            "GET",
            "/project/widget/",
            headers={"Accept": BROWSER, "Accept-Encoding": "gzip", "If-None-Match": etag},
        ),
        None,
    )
    assert again["statusCode"] == 304


def test_projects_indexed_before_the_web_pages_get_them_from_a_plain_reindex(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    widget(bucket, reindex, "1.0")
    for obj in list(bucket.list_objects(layout.WEB_PREFIX)):  # as an index of an older release
        bucket.delete(obj.key)
    assert get(api, "/project/widget/")["statusCode"] == 404
    reindex.handle({"reindex": "*"})
    assert "Makes widgets" in get(api, "/project/widget/")["body"]
    assert 'href="project/widget/"' in get(api, "/")["body"]


def test_versions_past_the_bound_are_rendered_by_later_events(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serverless_pypi.web import index

    for version in ("1.0", "1.1", "1.2", "1.3", "1.4"):
        widget(bucket, reindex, version)
    for obj in list(bucket.list_objects(layout.WEB_PREFIX)):  # as an index of an older release
        bucket.delete(obj.key)
    monkeypatch.setattr(index, "MAX_VERSIONS_RENDERED", 2)
    reindex.handle({"reindex": "*"})
    rendered = {
        v
        for v in ("1.0", "1.1", "1.2", "1.3", "1.4")
        if bucket.head(layout.web_version_key("widget", v, "html"))
    }
    assert rendered == {"1.4", "1.3"}  # the latest first, then the newest
    assert "1.0" in get(api, "/project/widget/")["body"]  # every version listed all the same
    # A pending version deleted before it was rendered leaves nothing behind.
    key = f"widget/{wheel_filename('widget', '1.2')}"
    bucket.delete(key)
    reindex.handle(s3_event(bucket.name, key, event="ObjectRemoved:Delete"))
    widget(bucket, reindex, "1.5")
    reindex.handle(s3_event(bucket.name, f"widget/{wheel_filename('widget', '1.0')}"))
    versions = {
        o.key.rsplit("/", 1)[1] for o in bucket.list_objects(layout.WEB_PREFIX + "versions/")
    }
    assert versions == {
        f"{v}.{e}" for v in ("1.0", "1.1", "1.3", "1.4", "1.5") for e in ("html", "json")
    }


def test_a_large_sdist_is_not_read_again_for_its_description(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serverless_pypi.web import index

    monkeypatch.setattr(index, "MAX_READ_FOR_METADATA", 100)
    data = sdist_bytes("gadget", "0.3", headers=("Summary: Gadgets",), description="*x*")
    publish(bucket, reindex, f"gadget/{sdist_filename('gadget', '0.3')}", data)
    page = get(api, "/project/gadget/")["body"]
    assert "No description." in page and "gadget-0.3.tar.gz" in page


def test_images_of_an_allowed_host_stay_and_others_go(
    api: ApiApp, bucket: Bucket, settings: config.Settings
) -> None:
    """``web_image_hosts`` (a badge service, say) is the one way a remote image stays."""
    allowing = ReindexApp(replace(settings, web_image_hosts=("img.shields.io",)), bucket)
    description = (
        "![ci](https://img.shields.io/badge/ci-passing-green) "
        "![plain](http://img.shields.io/badge/x) "
        "![other](https://tracker.example/pixel.png) "
        "![sub](https://evil.img.shields.io.example/p.png)"
    )
    headers = ("Description-Content-Type: text/markdown",)
    data = wheel_bytes("Badged", "1.0", headers=headers, description=description)
    try:
        publish(bucket, allowing, f"badged/{wheel_filename('badged', '1.0')}", data)
        page = get(api, "/project/badged/")["body"]
    finally:
        ReindexApp(settings, bucket)  # the container's setting back to none allowed
    assert 'src="https://img.shields.io/badge/ci-passing-green"' in page
    assert "http://img.shields.io" not in page  # https only
    assert "tracker.example" not in page and "evil.img.shields.io" not in page
    assert 'alt="other"' in page and 'alt="plain"' in page
