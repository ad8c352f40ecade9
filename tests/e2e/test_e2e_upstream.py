"""One index URL for everything: real pip and uv install through ``serverless-pypi serve
--upstream-index-url``, pointed at a fake upstream index the tests run on loopback
(``support.fake_upstream``). The clients are given our URL only."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.clients import INSTALLERS, installed_version, new_venv
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from support.fake_upstream import FakeUpstream, backend_wheel
from support.localserver import LocalIndex, start, wait_for

from serverless_pypi.upstream.proxy import STALE_HEADER


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeUpstream]:
    fake = FakeUpstream(tmp_path_factory.mktemp("upstream")).start()
    fake.add_wheel("webthing", "1.0", requires=("helperlib>=2",))
    fake.add_wheel("helperlib", "2.0")
    fake.add(*backend_wheel("tinybuild", "1.0"))
    fake.add_wheel("shared-name", "9.0")
    fake.add_wheel("acme-secret", "1.0")
    fake.add_wheel("fresh-pkg", "1.0", age=timedelta(days=10))
    fake.add_wheel("fresh-pkg", "2.0", age=timedelta(hours=2))
    fake.add_wheel("broken-json", "1.0")
    fake.hostile["broken-json"] = "bad-json"
    fake.add_wheel("bad-hash", "1.0")
    fake.hostile["bad-hash"] = "bad-sha"
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def index(upstream: FakeUpstream) -> Iterator[LocalIndex]:
    server = start(
        "--ephemeral",
        "--upstream-index-url",
        upstream.index_url,
        "--upstream-block",
        "acme-*",
        "--upstream-min-age",
        "3d",
    )
    yield server
    assert server.stop() == 0


def status_of(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_upstream_package_with_upstream_dependency_installs(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    python = new_venv(tmp_path)
    INSTALLERS[installer](index, tmp_path, python, "webthing")
    assert installed_version(python, "webthing") == "1.0"
    assert installed_version(python, "helperlib") == "2.0"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_private_sdist_builds_with_a_backend_from_upstream(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    name = f"inhouse-{installer}"
    data = sdist_bytes(name, "0.4", backend="tinybuild")
    index.publish(f"{name}/{sdist_filename(name, '0.4')}", data)
    python = new_venv(tmp_path)
    INSTALLERS[installer](index, tmp_path, python, name)
    assert installed_version(python, name.replace("-", "_")) == "0.4"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_private_name_resolves_to_private_versions_only(
    index: LocalIndex, upstream: FakeUpstream, tmp_path: Path, installer: str
) -> None:
    key = "Shared_Name/" + wheel_filename("shared-name", "1.0")
    index.publish(key, wheel_bytes("shared-name", "1.0"))
    python = new_venv(tmp_path)
    INSTALLERS[installer](index, tmp_path, python, "shared-name")
    assert installed_version(python, "shared_name") == "1.0"
    assert (
        INSTALLERS[installer](index, tmp_path, python, "shared-name==9.0", check=False).returncode
        != 0
    )
    assert not upstream.asked_about("shared-name")


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_blocked_name_is_404_though_upstream_has_it(
    index: LocalIndex, upstream: FakeUpstream, tmp_path: Path, installer: str
) -> None:
    status, body, _ = status_of(index.index_url + "acme-secret/")
    assert status == 404
    assert "never taken from the upstream index" in body
    python = new_venv(tmp_path)
    assert INSTALLERS[installer](index, tmp_path, python, "acme-secret", check=False).returncode
    assert not upstream.asked_about("acme-secret")


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_cooldown_hides_the_young_release(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    python = new_venv(tmp_path)
    INSTALLERS[installer](index, tmp_path, python, "fresh-pkg")
    assert installed_version(python, "fresh_pkg") == "1.0"
    young = INSTALLERS[installer](index, tmp_path, python, "fresh-pkg==2.0", check=False)
    assert young.returncode != 0
    assert set(index.project_files("fresh-pkg")) == {wheel_filename("fresh-pkg", "1.0")}


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_hostile_upstream_gives_clear_errors(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    status, body, _ = status_of(index.index_url + "broken-json/")
    assert (status, body.strip()) == (502, "The upstream index sent a page that is not JSON.")
    python = new_venv(tmp_path)
    broken = INSTALLERS[installer](index, tmp_path, python, "broken-json", check=False)
    assert broken.returncode != 0
    if installer == "uv":  # pip hides a page's status; uv prints it
        assert "502" in broken.stdout + broken.stderr
    mismatch = INSTALLERS[installer](index, tmp_path, python, "bad-hash", check=False)
    assert mismatch.returncode != 0
    assert "hash" in (mismatch.stdout + mismatch.stderr).lower()
    listed = index.s3().list_objects_v2(Bucket=index.bucket, Prefix=".upstream/files/bad-hash/")
    assert not listed.get("Contents")


def test_the_reindexer_renders_the_served_page_and_upstream_is_asked_once(
    index: LocalIndex, upstream: FakeUpstream
) -> None:
    """Through the local server's own S3 → SNS → SQS → reindex chain: the first request caches
    the document, the reindexer renders it to the served key, later requests read only that."""
    status, first, _ = status_of(index.index_url + "helperlib/")
    assert status == 200
    s3 = index.s3()

    def rendered() -> bool:
        try:
            head = s3.head_object(Bucket=index.bucket, Key=".index/pages/helperlib.html")
        except s3.exceptions.ClientError:
            return False
        return "upstream-fetched" in head["Metadata"]

    wait_for(rendered, what="the upstream page rendered by the reindexer")
    asked = len(upstream.requests)
    for _ in range(3):
        assert status_of(index.index_url + "helperlib/")[:2] == (200, first)
    assert len(upstream.requests) == asked
    root = status_of(index.index_url)[1]
    assert "helperlib" not in root  # the root lists private projects only


# -- an outage, on a server and upstream of its own --------------------------------------------
@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[FakeUpstream, LocalIndex]]:
    fake = FakeUpstream(tmp_path / "upstream").start()
    fake.add_wheel("outage-app", "1.0", requires=("outage-dep",))
    fake.add_wheel("outage-dep", "1.0")
    # TTL 0: every page asks the upstream, so after the outage every page is the stale copy.
    server = start(
        "--ephemeral", "--upstream-index-url", fake.index_url, "--upstream-page-ttl", "0"
    )
    yield fake, server
    fake.stop()
    assert server.stop() == 0


def test_install_still_works_from_the_bucket_when_upstream_is_down(
    outage: tuple[FakeUpstream, LocalIndex], tmp_path: Path
) -> None:
    fake, index = outage
    first = new_venv(tmp_path, "first")
    INSTALLERS["pip"](index, tmp_path, first, "outage-app")
    wanted = {
        f".upstream/files/{p}/{wheel_filename(p, '1.0')}" for p in ("outage-app", "outage-dep")
    }

    def copied() -> bool:
        listed = index.s3().list_objects_v2(Bucket=index.bucket, Prefix=".upstream/files/")
        return wanted <= {o["Key"] for o in listed.get("Contents", [])}

    wait_for(copied, what="upstream files copied into the bucket")
    fake.stop()
    status, _, headers = status_of(index.index_url + "outage-app/")
    assert status == 200 and STALE_HEADER in headers
    for installer, extra in (("pip", ()), ("uv", ("--no-cache",))):
        python = new_venv(tmp_path, f"after-{installer}")
        INSTALLERS[installer](index, tmp_path, python, "outage-app", *extra)
        assert installed_version(python, "outage_dep") == "1.0"
    never_seen = status_of(index.index_url + "never-seen/")
    assert never_seen[0] == 502


def test_serve_refuses_upstream_and_fallback_together(tmp_path: Path) -> None:
    from support.localserver import serverless_pypi_command

    result = subprocess.run(
        [
            *serverless_pypi_command(),
            "serve",
            "--ephemeral",
            "--upstream-index-url",
            "http://127.0.0.1:9/simple/",
            "--fallback-index-url",
            "http://127.0.0.1:9/simple/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--upstream-index-url replaces --fallback-index-url" in result.stderr
