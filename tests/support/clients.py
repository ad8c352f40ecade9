"""Real pip, uv and twine, run against a local index (installing into throwaway virtualenvs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.localserver import LocalIndex, tool

CLIENT_TIMEOUT = 180


def client_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no user configuration that could reach another index."""
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


def new_venv(tmp_path: Path, name: str = "venv") -> Path:
    target = tmp_path / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    return target / "bin" / "python"


def required_tool(name: str) -> str:
    path = tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed")  # a failure in CI (see conftest)
    return path


def run(
    command: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env={**client_env(tmp_path), **(env or {})},
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
    )


def pip(
    index: LocalIndex, tmp_path: Path, python: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
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
        *args,
    ]
    return _install(command, tmp_path, check)


def uv(
    index: LocalIndex, tmp_path: Path, python: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [
        required_tool("uv"),
        "pip",
        "install",
        "--python",
        str(python),
        "--index-url",
        index.index_url,
        *args,
    ]
    return _install(command, tmp_path, check)


def _install(command: list[str], tmp_path: Path, check: bool) -> subprocess.CompletedProcess[str]:
    result = run(command, tmp_path)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def installed_version(python: Path, module: str) -> str:
    result = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


INSTALLERS = {"pip": pip, "uv": uv}


def upload_url(index: LocalIndex) -> str:
    """The legacy upload API, where twine and ``uv publish`` send files."""
    return index.index_url.removesuffix("simple/") + "legacy/"


def twine(
    index: LocalIndex,
    tmp_path: Path,
    *files: Path,
    credentials: tuple[str, str] = ("ci", "secret"),
    ca: Path | None = None,
) -> tuple[int, str]:
    """Upload ``files`` with twine as ``credentials`` (user, password): exit code and output.
    ``ca``: trust this CA (an HTTPS local server)."""
    user, password = credentials
    command = [
        required_tool("twine"),
        "upload",
        "--verbose",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        upload_url(index),
        "-u",
        user,
        "-p",
        password,
        *map(str, files),
    ]
    env = None if ca is None else {"SSL_CERT_FILE": str(ca), "REQUESTS_CA_BUNDLE": str(ca)}
    result = run(command, tmp_path, env)
    return result.returncode, result.stdout + result.stderr
