"""Pure parts of the web pages: browser detection, metadata parsing, description rendering,
latest-version choice, catalog shards read defensively."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
from support.dists import sdist_bytes, wheel_bytes

from serverless_pypi import archive
from serverless_pypi.api.negotiation import is_browser
from serverless_pypi.render import PageFile
from serverless_pypi.web import cards, metadata, readme, releases

PIP = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UV = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "browser"),
    [
        (CHROME, True),
        (FIREFOX, True),
        ("text/html", True),
        (PIP, False),
        (UV, False),
        ("*/*", False),  # curl
        (None, False),
        ("", False),
        ("application/json", False),
        ("text/html;q=0", False),
        ("text/html;q=bogus", False),
    ],
)
def test_is_browser(accept: str | None, browser: bool) -> None:
    assert is_browser(accept) is browser


def test_parse_reads_headers_and_body() -> None:
    text = (
        "Metadata-Version: 2.1\nName: My_Pkg\nVersion: 1.0\nSummary: One   line\n"
        "Requires-Dist: attrs>=22\nRequires-Dist: idna; extra == 'x'\n"
        "Project-URL: Source Code, https://example.org/src\nProject-URL: broken\n"
        "License-Expression: MIT\nDescription-Content-Type: text/markdown\n\n# Title\n"
    )
    parsed = metadata.parse(text.encode())
    assert parsed.info.name == "My_Pkg" and parsed.info.summary == "One line"
    assert parsed.info.requires_dist == ["attrs>=22", "idna; extra == 'x'"]
    assert parsed.info.project_urls == {"Source Code": "https://example.org/src"}
    assert parsed.info.license == "MIT" and parsed.description == "# Title\n"
    assert metadata.ReleaseInfo.from_json(parsed.info.to_json()) == parsed.info


def test_parse_reads_the_old_description_header() -> None:
    text = "Metadata-Version: 1.1\nName: old\nDescription: First line\n        second line\n\n"
    assert metadata.parse(text.encode()).description == "First line\nsecond line"


def test_release_info_from_json_drops_malformed_fields() -> None:
    raw = {"summary": 3, "requires_dist": ["ok", 4], "project_urls": {"a": 1, "b": "u"}}
    info = metadata.ReleaseInfo.from_json(raw)
    assert info.summary is None and info.requires_dist == ["ok"] and info.project_urls == {"b": "u"}
    assert metadata.ReleaseInfo.from_json("junk") == metadata.ReleaseInfo()


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.example/"></iframe>',
        '<div style="background:url(https://evil.example/)" onclick="alert(1)">x</div>',
    ],
)
def test_markdown_is_sanitized(hostile: str) -> None:
    out = readme.render(f"# T\n\n{hostile}\n", "text/markdown")
    for bad in ("<script", "onerror", "javascript:", "<iframe", "onclick", "style="):
        assert bad not in out


def test_remote_images_are_dropped_local_kept() -> None:
    out = readme.render(
        "![a](https://cdn.example/a.png) ![b](//cdn.example/b.png) ![c](c.png)", "text/markdown"
    )
    assert "cdn.example" not in out and 'src="c.png"' in out and 'alt="a"' in out


def test_rst_plain_and_broken_descriptions() -> None:
    assert "<em>x</em>" in readme.render("Title\n=====\n\n*x*\n", None)
    assert readme.render("a <b> c", "text/plain").startswith("a &lt;b&gt; c")
    broken = readme.render(".. raw:: html\n\n   <script>x</script>\n", "text/x-rst")
    assert broken.startswith("<pre>") and "<script>" not in broken
    assert readme.render("", None) == ""
    huge = readme.render("x" * (readme.MAX_RENDERED + 1), "text/markdown")
    assert huge.startswith("<pre>")


def _file(version: str, yanked: bool | str = False) -> PageFile:
    return PageFile(filename=f"p-{version}.tar.gz", url="u", version=version, yanked=yanked)


def test_latest_is_the_highest_unyanked_final_else_the_highest() -> None:
    group = releases.group([_file("1.0"), _file("1.1"), _file("2.0rc1"), _file("1.2", "bad")])
    assert [r.version for r in group] == ["2.0rc1", "1.2", "1.1", "1.0"]
    assert releases.latest(group).version == "1.1"
    only_pre = releases.group([_file("1.0a1"), _file("1.0a2")])
    assert releases.latest(only_pre).version == "1.0a2"
    all_yanked = releases.group([_file("1.0", True), _file("2.0", "x")])
    assert releases.latest(all_yanked).version == "2.0"
    assert all_yanked[0].yanked and all_yanked[0].yanked_reason == "x"


def test_catalog_shards_round_trip_and_drop_malformed() -> None:
    shard = {"a-b": cards.Card("a-b", "1.0", "sum", "2024-01-01T00:00:00.000000Z")}
    assert cards.load(cards.dump(shard)) == shard
    junk = (
        b'{"projects": {"Bad Name": ["1", "s", "t"], "ok": ["1", 2, "t"], "fine": ["1","s","t"]}}'
    )
    assert list(cards.load(gzip.compress(junk))) == ["fine"]
    assert cards.load(b"not gzip") == {}
    assert 0 <= cards.shard_of("anything") < 16


def test_core_metadata_of_wheels_and_sdists() -> None:
    wheel = archive.core_metadata(io.BytesIO(wheel_bytes("w", "1.0", description="hi")), "w.whl")
    assert wheel is not None and wheel.endswith(b"hi")
    sdist = archive.core_metadata(io.BytesIO(sdist_bytes("s", "2.0")), "s-2.0.tar.gz")
    assert sdist is not None and b"Version: 2.0" in sdist
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as empty:
        empty.addfile(tarfile.TarInfo("s-1/README"), io.BytesIO(b""))
    assert archive.core_metadata(io.BytesIO(buffer.getvalue()), "s-1.tar.gz") is None
    assert archive.core_metadata(io.BytesIO(b"junk"), "x.whl") is None
