"""The PyPI JSON API over real HTTP from ``serverless-pypi serve``: read as Renovate's pypi
datasource reads it, compared with what ``pip index versions`` sees, and each file URL
followed to bytes that match the advertised sha256."""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from support.clients import run
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from support.localserver import LocalIndex, wait_for

from serverless_pypi import layout

PROJECT = "json-demo"


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_renovate_style_reading_matches_pip(index: LocalIndex, tmp_path: Path) -> None:
    headers = ("Summary: Demonstrates JSON", "Project-URL: Source, https://example.org/demo")
    for version in ("0.9", "1.0", "1.1rc1"):
        data = wheel_bytes(PROJECT, version, requires_python=">=3.9", headers=headers)
        index.publish(f"{PROJECT}/{wheel_filename(PROJECT, version)}", data)
    index.publish(f"{PROJECT}/{sdist_filename(PROJECT, '1.0')}", sdist_bytes(PROJECT, "1.0"))
    yanked = f"{PROJECT}/{wheel_filename(PROJECT, '0.9')}"
    index.s3().put_object(Bucket=index.bucket, Key=layout.yank_key(yanked), Body=b"old")
    base = index.index_url.removesuffix("simple/")
    url = f"{base}pypi/{PROJECT}/json"

    def shows_yank() -> bool:
        doc = json.loads(fetch(url)[2])
        return all(f["yanked"] for f in doc["releases"].get("0.9", [{"yanked": False}]))

    wait_for(shows_yank, what="the yank in the JSON API")
    status, response_headers, body = fetch(url)
    assert status == 200 and response_headers["Content-Type"] == "application/json"
    doc: dict[str, Any] = json.loads(body)
    # Renovate: info.name and project_urls; per release the first file's upload_time,
    # deprecated when every file is yanked, and requires_python as the constraint.
    assert doc["info"]["name"] == PROJECT and doc["info"]["version"] == "1.0"
    assert doc["info"]["project_urls"] == {"Source": "https://example.org/demo"}
    releases = {
        version: {
            "releaseTimestamp": datetime.fromisoformat(files[0]["upload_time_iso_8601"]),
            "isDeprecated": all(f["yanked"] for f in files),
            "python": {f["requires_python"] for f in files},
        }
        for version, files in doc["releases"].items()
    }
    assert set(releases) == {"0.9", "1.0", "1.1rc1"}
    assert releases["0.9"]["isDeprecated"] and not releases["1.0"]["isDeprecated"]
    # pip, reading the simple API, sees the same versions (it leaves out yanked and pre-releases).
    listed = run(
        [sys.executable, "-m", "pip", "index", "versions", PROJECT, "--index-url", index.index_url],
        tmp_path,
    )
    assert listed.returncode == 0, listed.stderr
    assert f"{PROJECT} (1.0)" in listed.stdout
    assert "Available versions: 1.0" in listed.stdout
    # Every advertised URL leads to bytes with the advertised hash and size.
    for entry in doc["urls"]:
        status, _, data = fetch(urljoin(url, entry["url"]))
        assert status == 200
        assert hashlib.sha256(data).hexdigest() == entry["digests"]["sha256"]
        assert len(data) == entry["size"]
    version_doc = json.loads(fetch(f"{base}pypi/{PROJECT}/0.9/json")[2])
    assert version_doc["info"]["yanked"] is True and version_doc["info"]["yanked_reason"] == "old"
