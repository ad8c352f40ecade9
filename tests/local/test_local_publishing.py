"""``serve --trusted-publishers``, ``--upload-permissions`` and ``--tls-cert/--tls-key``: option
checks, and the HTTPS server (plain http reaches only the SNS endpoint)."""

from __future__ import annotations

import argparse
import io
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.tls import make_certificates

from serverless_pypi import config
from serverless_pypi.local import serve
from serverless_pypi.local.options import Options


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(argv)


def _publishers(tmp_path: Path, entries: object) -> str:
    path = tmp_path / "publishers.json"
    path.write_text(json.dumps(entries))
    return str(path)


GOOD = [{"issuer": "http://127.0.0.1:9", "claims": {"repository": "a/b"}, "projects": ["a-*"]}]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--tls-cert", "c.pem"), "--tls-cert and --tls-key go together"),
        (("--upload-permissions", "p.json"), "--upload-permissions needs --auth"),
        (("--bucket", "b", "--trusted-publishers", "t.json"), "needs the embedded bucket"),
    ],
)
def test_inconsistent_options_exit_2(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve.run(_parse("--port", "0", *argv)) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{**GOOD[0], "claims": {}}], "at least one claim"),
        ([{**GOOD[0], "projects": []}], "non-empty list of globs"),
        ([{**GOOD[0], "issuer": "http://pypi.example"}], "https URL"),
    ],
)
def test_a_bad_publishers_file_stops_serve_with_its_reason(
    tmp_path: Path, entries: object, message: str
) -> None:
    """``serve.run`` prints a ConfigError and exits 2; nothing was left running."""
    options = Options(
        port=0, ephemeral=True, trusted_publishers=Path(_publishers(tmp_path, entries))
    )
    with pytest.raises(config.ConfigError, match="--trusted-publishers") as caught:
        serve.start(options, out=io.StringIO())
    assert message in str(caught.value)


def test_missing_publishers_file(tmp_path: Path) -> None:
    options = Options(port=0, ephemeral=True, trusted_publishers=tmp_path / "none.json")
    with pytest.raises(config.ConfigError, match="cannot read"):
        serve.start(options, out=io.StringIO())


def test_https_server(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    options = Options(
        port=0,
        ephemeral=True,
        trusted_publishers=Path(_publishers(tmp_path, GOOD)),
        tls_cert=certs.cert,
        tls_key=certs.key,
    )
    out = io.StringIO()
    running = serve.start(options, out=out)
    try:
        assert running.index_url.startswith("https://127.0.0.1:")
        printed = out.getvalue()
        assert f"index: {running.index_url}" in printed
        assert "trusted publishing: audience=serverless-pypi-local publishers=1" in printed
        context = ssl.create_default_context(cafile=str(certs.ca))
        base = running.index_url.removesuffix("simple/")
        with urllib.request.urlopen(f"{base}_/oidc/audience", context=context) as response:
            assert json.load(response) == {"audience": "serverless-pypi-local"}
        with urllib.request.urlopen(running.index_url, context=context) as response:
            assert response.status == 200
        plain = running.index_url.replace("https://", "http://")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(plain)
        assert refused.value.code == 400
        assert b"speaks HTTPS" in refused.value.read()
    finally:
        running.stop()
