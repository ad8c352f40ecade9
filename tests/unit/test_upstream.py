"""The upstream proxy's pure parts: settings, file-URL policy, page parsing, the block list and
the cooldown."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from serverless_pypi import config
from serverless_pypi.errors import UpstreamUnavailable
from serverless_pypi.upstream import client, parse, policy

UPSTREAM = "https://pypi.example/simple/"
PAGE = UPSTREAM + "demo/"
SHA = "ab" * 32


def entry(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "filename": "demo-1.0-py3-none-any.whl",
        "url": "https://files.example/demo-1.0-py3-none-any.whl",
        "hashes": {"sha256": SHA},
        "size": 10,
        "upload-time": "2024-01-02T03:04:05.123456Z",
        "requires-python": ">=3.8",
        "core-metadata": {"sha256": SHA},
    }
    raw.update(overrides)
    return raw


def page(*files: dict[str, object]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "files": list(files)}).encode()


# -- settings -------------------------------------------------------------------------------
def test_upstream_settings_are_parsed() -> None:
    settings = config.load(
        {
            config.BUCKET: "b",
            config.UPSTREAM_INDEX_URL: "https://pypi.org/simple",
            config.UPSTREAM_BLOCK: "Acme_*, internal.tools",
            config.UPSTREAM_MIN_AGE: "7d",
            config.UPSTREAM_PAGE_TTL: "90s",
        }
    )
    assert settings.upstream_index_url == "https://pypi.org/simple/"
    assert settings.upstream_block == ("acme-*", "internal-tools")
    assert settings.upstream_min_age == 7 * 86400
    assert settings.upstream_page_ttl == 90


def test_upstream_defaults_are_off() -> None:
    settings = config.load({config.BUCKET: "b"})
    assert settings.upstream_index_url is None
    assert settings.upstream_min_age == 0
    assert settings.upstream_page_ttl == 600


def test_upstream_and_fallback_together_is_an_error() -> None:
    with pytest.raises(config.ConfigError, match="set only one"):
        config.load(
            {
                config.BUCKET: "b",
                config.UPSTREAM_INDEX_URL: "https://pypi.org/simple/",
                config.FALLBACK_INDEX_URL: "https://pypi.org/simple/",
            }
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (config.UPSTREAM_MIN_AGE, "3 days"),
        (config.UPSTREAM_MIN_AGE, "-1h"),
        (config.UPSTREAM_PAGE_TTL, "8d"),
        (config.UPSTREAM_BLOCK, "acme/*"),
        (config.UPSTREAM_INDEX_URL, "ftp://example/"),
    ],
)
def test_bad_upstream_settings_fail_at_start(name: str, value: str) -> None:
    with pytest.raises(config.ConfigError, match=name):
        config.load({config.BUCKET: "b", name: value})


@pytest.mark.parametrize(("raw", "seconds"), [("72h", 259200), ("7d", 604800), ("30", 30)])
def test_durations(raw: str, seconds: int) -> None:
    assert config.parse_duration(raw) == seconds


# -- file URLs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.pythonhosted.org/packages/x.whl", True),
        ("http://files.pythonhosted.org/packages/x.whl", False),
        ("https://user:pw@files.example/x.whl", False),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("https://169.254.169.254/latest", False),
        ("https://127.0.0.1/x.whl", False),
        ("https://files.example/a b.whl", False),
    ],
)
def test_file_url_policy(url: str, allowed: bool) -> None:
    assert client.file_url_allowed(url, UPSTREAM) is allowed


def test_loopback_upstream_may_serve_its_own_files() -> None:
    local = "http://127.0.0.1:8000/simple/"
    assert client.file_url_allowed("http://127.0.0.1:8000/files/x.whl", local)
    assert not client.file_url_allowed("http://10.0.0.1/files/x.whl", local)


# -- parsing ------------------------------------------------------------------------------------
def test_json_page_keeps_everything_upstream_gave() -> None:
    parsed = parse.parse_json(page(entry(yanked="broken")), "demo", PAGE, UPSTREAM)
    (f,) = parsed.files
    assert f.sha256 == SHA and f.size == 10 and f.requires_python == ">=3.8"
    assert f.upload_time == "2024-01-02T03:04:05.123456Z"
    assert f.metadata_sha256 == SHA and f.yanked == "broken"


def test_relative_urls_resolve_against_the_page() -> None:
    parsed = parse.parse_json(page(entry(url="../../files/demo-1.0-py3-none-any.whl")), "demo",
                              PAGE, UPSTREAM)  # fmt: skip
    assert parsed.files[0].url == "https://pypi.example/files/demo-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"filename": "other-1.0-py3-none-any.whl"}, "a file of another project"),
        ({"filename": "<b>.whl"}, "not a distribution filename"),
        ({"hashes": {"md5": "x"}}, "no sha256"),
        ({"hashes": {"sha256": "zz"}}, "no sha256"),
        ({"size": -1}, "bad size"),
        ({"size": True}, "bad size"),
        ({"requires-python": "<script>"}, "bad requires-python"),
        ({"yanked": 3}, "bad yanked"),
        ({"url": "file:///etc/passwd"}, "URL refused"),
    ],
)
def test_bad_entries_are_skipped_with_a_reason(overrides: dict[str, object], reason: str) -> None:
    parsed = parse.parse_json(page(entry(**overrides)), "demo", PAGE, UPSTREAM)
    assert parsed.files == [] and parsed.skipped == {reason: 1}


def test_metadata_without_hash_is_not_advertised() -> None:
    parsed = parse.parse_json(page(entry(**{"core-metadata": True})), "demo", PAGE, UPSTREAM)
    assert parsed.files[0].metadata_sha256 is None


def test_bad_upload_time_is_dropped() -> None:
    parsed = parse.parse_json(page(entry(**{"upload-time": "yesterday"})), "demo", PAGE, UPSTREAM)
    assert parsed.files[0].upload_time is None


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"meta": {"api-version": "2.0"}, "files": []}', b'{"files": {}}']
)
def test_not_a_page_is_an_error(body: bytes) -> None:
    with pytest.raises(UpstreamUnavailable):
        parse.parse_json(body, "demo", PAGE, UPSTREAM)


def test_html_page() -> None:
    html = (
        '<a href="https://files.example/demo-1.0.tar.gz#sha256=' + SHA + '" '
        'data-requires-python="&gt;=3.9" data-yanked="">demo-1.0.tar.gz</a>'
        '<a href="https://files.example/demo-1.1.tar.gz">demo-1.1.tar.gz</a>'
    ).encode()
    parsed = parse.parse_page(html, "text/html", "demo", PAGE, UPSTREAM)
    (f,) = parsed.files
    assert f.requires_python == ">=3.9" and f.yanked is True and f.upload_time is None
    assert parsed.skipped == {"no sha256": 1}


# -- policy ---------------------------------------------------------------------------------------
def test_block_globs_match_normalized_names() -> None:
    assert policy.blocked("acme-tools", ("acme-*",))
    assert not policy.blocked("acmetools", ("acme-*",))


def test_cooldown() -> None:
    (f,) = parse.parse_json(page(entry()), "demo", PAGE, UPSTREAM).files
    uploaded = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert policy.visible(f, 0, uploaded)
    assert not policy.visible(f, 3600, uploaded + 3599)
    assert policy.visible(f, 3600, uploaded + 3601)
    (undated,) = parse.parse_json(
        page(entry(**{"upload-time": None})), "demo", PAGE, UPSTREAM
    ).files
    assert policy.visible(undated, 0, uploaded) and not policy.visible(undated, 1, uploaded)


# -- serve's flags ------------------------------------------------------------------------------
def _serve_args(*argv: str) -> object:
    import argparse

    from serverless_pypi.local import options

    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    return options.from_arguments(parser.parse_args(list(argv)))


def test_serve_upstream_flags_reach_the_settings() -> None:
    from serverless_pypi.local import options, stack

    parsed = _serve_args(
        "--upstream-index-url", UPSTREAM, "--upstream-block", "Acme_*", "--upstream-block",
        "x-?", "--upstream-min-age", "72h", "--upstream-page-ttl", "1m",
    )  # fmt: skip
    assert isinstance(parsed, options.Options)
    settings = stack.settings_for(parsed, "pypi", None, "off")
    assert settings.upstream_index_url == UPSTREAM
    assert settings.upstream_block == ("acme-*", "x-?")
    assert (settings.upstream_min_age, settings.upstream_page_ttl) == (259200, 60)
    assert settings.upstream_copy_function is None  # local mode copies in a thread


@pytest.mark.parametrize("argv", [("--upstream-min-age", "3 days"), ("--upstream-block", "a/b")])
def test_serve_rejects_bad_upstream_flags(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit):
        _serve_args(*argv)


def test_serve_rejects_upstream_with_fallback() -> None:
    with pytest.raises(config.ConfigError, match="replaces --fallback-index-url"):
        _serve_args("--upstream-index-url", UPSTREAM, "--fallback-index-url", UPSTREAM)
