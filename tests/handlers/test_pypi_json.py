"""The PyPI JSON API (``/pypi/<name>/json``), read as Renovate and Dependabot read it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from packaging.version import Version
from support.apigw import http_event
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from support.indexing import publish
from support.s3events import s3_event

from serverless_pypi import layout
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

BASE = "https://api.example.test"


def get(api: ApiApp, path: str) -> dict[str, Any]:
    return api.handle(http_event("GET", path, headers={"Accept": "application/json"}), None)


def document(api: ApiApp, path: str) -> dict[str, Any]:
    response = get(api, path)
    assert response["statusCode"] == 200, response
    assert response["headers"]["Content-Type"] == "application/json"
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed


def renovate_releases(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What Renovate's pypi datasource takes from the document: per version the first file's
    upload time, whether it is deprecated (every file yanked) and its Python constraint."""
    found = {}
    for version, files in doc["releases"].items():
        Version(version)
        first = files[0]
        found[version] = {
            "releaseTimestamp": datetime.fromisoformat(first["upload_time"]),
            "isDeprecated": all(f["yanked"] for f in files),
            "constraints": {"python": [f["requires_python"] for f in files]},
        }
    return found


def project(bucket: Bucket, reindex: ReindexApp) -> None:
    headers = ("Summary: Parses things", "Project-URL: Homepage, https://example.org/parser")
    for version in ("1.0", "1.2", "2.0rc1"):
        wheel = wheel_bytes(
            "Parser",
            version,
            requires=("attrs>=22",),
            requires_python=">=3.10",
            headers=headers,
        )
        publish(bucket, reindex, f"Parser/{wheel_filename('parser', version)}", wheel)
    sdist = sdist_bytes("Parser", "1.2", headers=headers)
    publish(bucket, reindex, f"Parser/{sdist_filename('parser', '1.2')}", sdist)


def test_project_document_has_pypis_shape(api: ApiApp, bucket: Bucket, reindex: ReindexApp) -> None:
    project(bucket, reindex)
    doc = document(api, "/pypi/parser/json")
    info = doc["info"]
    assert info["name"] == "Parser" and info["version"] == "1.2"  # not the release candidate
    assert info["summary"] == "Parses things" and info["requires_python"] == ">=3.10"
    assert info["requires_dist"] == ["attrs>=22"]
    assert info["project_urls"] == {"Homepage": "https://example.org/parser"}
    assert info["yanked"] is False and info["yanked_reason"] is None
    assert set(doc["releases"]) == {"1.0", "1.2", "2.0rc1"}
    urls = {f["filename"]: f for f in doc["urls"]}
    assert set(urls) == {"parser-1.2-py3-none-any.whl", "parser-1.2.tar.gz"}
    wheel = urls["parser-1.2-py3-none-any.whl"]
    assert (
        wheel["packagetype"] == "bdist_wheel"
        and urls["parser-1.2.tar.gz"]["packagetype"] == "sdist"
    )
    assert len(wheel["digests"]["sha256"]) == 64 and wheel["size"] > 0
    assert wheel["upload_time_iso_8601"].endswith("Z")
    assert wheel["upload_time"] == wheel["upload_time_iso_8601"][:19]
    assert wheel["requires_python"] == ">=3.10" and wheel["yanked"] is False
    # The URL is the stable file URL, relative to the document: it resolves to /files/...
    absolute = urljoin(f"{BASE}/pypi/parser/json", wheel["url"])
    assert urlsplit(absolute).path == "/files/Parser/parser-1.2-py3-none-any.whl"
    redirect = get(api, urlsplit(absolute).path)
    assert redirect["statusCode"] == 302
    stored = bucket.get("Parser/parser-1.2-py3-none-any.whl")
    assert stored is not None


def test_yanked_files_and_latest(api: ApiApp, bucket: Bucket, reindex: ReindexApp) -> None:
    project(bucket, reindex)
    for filename in ("parser-1.2-py3-none-any.whl", "parser-1.2.tar.gz"):
        key = layout.yank_key(f"Parser/{filename}")
        bucket.put(key, b"security issue", "text/plain")
        reindex.handle(s3_event(bucket.name, key))
    doc = document(api, "/pypi/parser/json")
    assert doc["info"]["version"] == "1.0"
    releases = renovate_releases(doc)
    assert releases["1.2"]["isDeprecated"] and not releases["1.0"]["isDeprecated"]
    assert releases["1.0"]["releaseTimestamp"] <= releases["1.2"]["releaseTimestamp"]
    one_two = document(api, "/pypi/parser/1.2/json")
    assert one_two["info"]["version"] == "1.2" and one_two["info"]["yanked"] is True
    assert one_two["info"]["yanked_reason"] == "security issue"
    assert "releases" not in one_two  # as pypi.org: only the release's own files
    assert {f["yanked_reason"] for f in one_two["urls"]} == {"security issue"}
    absolute = urljoin(f"{BASE}/pypi/parser/1.2/json", one_two["urls"][0]["url"])
    assert urlsplit(absolute).path.startswith("/files/Parser/parser-1.2")


def test_only_prereleases_or_all_yanked_still_have_a_latest(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    for version in ("0.1a1", "0.1a2"):
        publish(
            bucket, reindex, f"pre/{wheel_filename('pre', version)}", wheel_bytes("pre", version)
        )
    assert document(api, "/pypi/pre/json")["info"]["version"] == "0.1a2"


def test_names_and_versions_redirect_and_unknown_is_404(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp
) -> None:
    project(bucket, reindex)
    for path, location in {
        "/pypi/PARSER/json": "../../pypi/parser/json",
        "/pypi/parser/01.2/json": "../../../pypi/parser/1.2/json",
    }.items():
        response = get(api, path)
        assert response["statusCode"] == 301 and response["headers"]["Location"] == location
        assert urljoin(f"{BASE}{path}", location).startswith(f"{BASE}/pypi/parser/")
    for path in ("/pypi/nothing/json", "/pypi/parser/9.9/json", "/pypi/parser/not-a-version/json"):
        response = get(api, path)
        assert response["statusCode"] == 404, path
        assert response["headers"]["Content-Type"].startswith("text/plain")
    assert get(api, "/pypi/parser/")["statusCode"] == 404
