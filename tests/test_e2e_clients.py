"""Real pip and uv install from ``serverless-pypi serve``, through the full S3 → SNS → reindex
chain, into throwaway virtualenvs. Distributions are built here; nothing touches the internet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from localserver import LocalIndex, start, tool, wait_for

pytestmark = pytest.mark.e2e
CLIENT_TIMEOUT = 180


@pytest.fixture(scope="module")
def index() -> Iterator[LocalIndex]:
    server = start("--ephemeral")
    yield server
    assert server.stop() == 0


def root_projects(index: LocalIndex) -> list[str]:
    request = urllib.request.Request(
        index.index_url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [p["name"] for p in json.load(response)["projects"]]


def publish(index: LocalIndex, key: str, data: bytes) -> None:
    """Drop a file into the bucket as a user would, then wait for the SNS-fed reindex."""
    index.s3().put_object(Bucket=index.bucket, Key=key, Body=data)
    project = key.split("/")[0].lower().replace("_", "-").replace(".", "-")
    wait_for(lambda: project in root_projects(index), what=f"{project} in the root index")


def client_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def new_venv(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    return target / "bin" / "python"


def required_tool(name: str) -> str:
    path = tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed")  # a failure in CI (see conftest)
    return path


def pip_install(index: LocalIndex, tmp_path: Path, python: Path, *requirements: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-cache-dir",
        "--index-url",
        index.index_url,
        *requirements,
    ]
    result = subprocess.run(
        command, env=client_env(tmp_path), capture_output=True, text=True, timeout=CLIENT_TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def uv_install(index: LocalIndex, tmp_path: Path, python: Path, *requirements: str) -> None:
    command = [
        required_tool("uv"),
        "pip",
        "install",
        "--python",
        str(python),
        "--index-url",
        index.index_url,
        *requirements,
    ]
    result = subprocess.run(
        command, env=client_env(tmp_path), capture_output=True, text=True, timeout=CLIENT_TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def installed_version(python: Path, module: str) -> str:
    result = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


INSTALLERS = {"pip": pip_install, "uv": uv_install}


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_wheel_under_non_canonical_prefix_installs(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    publish(index, "My_Pkg/" + wheel_filename("my-pkg", "1.0"), wheel_bytes("my-pkg", "1.0"))
    publish(index, "My_Pkg/" + wheel_filename("my-pkg", "1.1"), wheel_bytes("my-pkg", "1.1"))
    python = new_venv(tmp_path, "venv")
    INSTALLERS[installer](index, tmp_path, python, "My.Pkg<1.1")
    assert installed_version(python, "my_pkg") == "1.0"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_private_dependency_resolves_from_the_index(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    publish(index, "corelib/" + wheel_filename("corelib", "2.0"), wheel_bytes("corelib", "2.0"))
    app = wheel_bytes("app-tool", "0.3", requires=("corelib>=2",))
    publish(index, "app-tool/" + wheel_filename("app-tool", "0.3"), app)
    python = new_venv(tmp_path, "venv")
    INSTALLERS[installer](index, tmp_path, python, "app-tool")
    assert installed_version(python, "app_tool") == "0.3"
    assert installed_version(python, "corelib") == "2.0"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_sdist_builds_and_installs_offline(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    name = f"srconly-{installer}"
    publish(index, f"{name}/" + sdist_filename(name, "0.5"), sdist_bytes(name, "0.5"))
    python = new_venv(tmp_path, "venv")
    INSTALLERS[installer](index, tmp_path, python, name)
    assert installed_version(python, name.replace("-", "_")) == "0.5"


def test_deleted_file_leaves_the_index(index: LocalIndex) -> None:
    key = "gone-soon/" + wheel_filename("gone-soon", "1.0")
    publish(index, key, wheel_bytes("gone-soon", "1.0"))
    index.s3().delete_object(Bucket=index.bucket, Key=key)
    wait_for(lambda: "gone-soon" not in root_projects(index), what="gone-soon removed")
