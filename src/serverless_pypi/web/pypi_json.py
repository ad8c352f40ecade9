"""PyPI's JSON API (``/pypi/<name>/json``, ``/pypi/<name>/<version>/json``), in the shape
pypi.org serves, which Renovate and Dependabot read before the simple page.

URLs are relative to the document (``../../files/…`` from ``/pypi/<name>/json``), so they are
right under any host, stage or custom domain: documents are rendered before any request says
which. There is no ``description`` (the pages show it rendered) and no md5 (never computed).
"""

from __future__ import annotations

import json
from typing import Any

from serverless_pypi.render import PageFile
from serverless_pypi.web.metadata import ReleaseInfo
from serverless_pypi.web.releases import Release


def _python_version(filename: str) -> str:
    if filename.endswith(".whl"):
        parts = filename.removesuffix(".whl").split("-")
        return parts[-3] if len(parts) >= 5 else "py3"
    return "source"


def file_json(f: PageFile, *, up: str) -> dict[str, Any]:
    upload = f.upload_time or ""
    return {
        "comment_text": "",
        "digests": {"sha256": f.sha256} if f.sha256 else {},
        "filename": f.filename,
        "has_sig": False,
        "packagetype": "bdist_wheel" if f.filename.endswith(".whl") else "sdist",
        "python_version": _python_version(f.filename),
        "requires_python": f.requires_python,
        "size": f.size,
        "upload_time": upload[:19] or None,
        "upload_time_iso_8601": upload or None,
        "url": up + f.url,
        "yanked": bool(f.yanked),
        "yanked_reason": f.yanked if isinstance(f.yanked, str) and f.yanked else None,
    }


def info_json(name: str, release: Release, info: ReleaseInfo) -> dict[str, Any]:
    return {
        "author": info.author,
        "author_email": info.author_email,
        "classifiers": info.classifiers,
        "description_content_type": info.description_content_type,
        "home_page": info.home_page,
        "keywords": info.keywords,
        "license": info.license,
        "name": info.name or name,
        "project_urls": info.project_urls or None,
        "requires_dist": info.requires_dist or None,
        "requires_python": info.requires_python,
        "summary": info.summary,
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason,
    }


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def project_document(
    name: str, releases: list[Release], latest: Release, info: ReleaseInfo
) -> bytes:
    """``/pypi/<name>/json``: the latest release's info, every release's files."""
    return _dumps(
        {
            "info": info_json(name, latest, info),
            "last_serial": 0,
            "releases": {
                r.version: [file_json(f, up=_UP_PROJECT) for f in r.files] for r in releases
            },
            "urls": [file_json(f, up=_UP_PROJECT) for f in latest.files],
            "vulnerabilities": [],
        }
    )


def version_document(name: str, release: Release, info: ReleaseInfo) -> bytes:
    """``/pypi/<name>/<version>/json``: one release (pypi.org leaves out ``releases`` here)."""
    return _dumps(
        {
            "info": info_json(name, release, info),
            "last_serial": 0,
            "urls": [file_json(f, up=_UP_VERSION) for f in release.files],
            "vulnerabilities": [],
        }
    )


#: ``PageFile.url`` is relative to ``/simple/<name>/``, two levels below the base, like
#: ``/pypi/<name>/json``; the version document is one level deeper.
_UP_PROJECT = ""
_UP_VERSION = "../"
