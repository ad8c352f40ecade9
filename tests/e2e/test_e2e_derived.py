"""Real clients use what the derived data offers: hashes, .metadata, upload times."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.clients import INSTALLERS, installed_version, new_venv, pip, uv
from support.dists import wheel_bytes, wheel_filename
from support.localserver import LocalIndex


def publish_wheel(index: LocalIndex, name: str, version: str, **kwargs: object) -> bytes:
    data = wheel_bytes(name, version, **kwargs)  # type: ignore[arg-type]
    index.publish(f"{name}/{wheel_filename(name, version)}", data)
    return data


def test_pip_require_hashes(index: LocalIndex, tmp_path: Path) -> None:
    data = publish_wheel(index, "hashed", "1.0")
    digest = hashlib.sha256(data).hexdigest()
    python = new_venv(tmp_path)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"hashed==1.0 --hash=sha256:{'0' * 64}\n")
    wrong = pip(index, tmp_path, python, "--require-hashes", "-r", str(requirements), check=False)
    assert wrong.returncode != 0
    assert "do not match" in wrong.stdout + wrong.stderr.lower() or "HASHES" in wrong.stderr
    requirements.write_text(f"hashed==1.0 --hash=sha256:{digest}\n")
    pip(index, tmp_path, python, "--require-hashes", "-r", str(requirements))
    assert installed_version(python, "hashed") == "1.0"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_resolution_reads_core_metadata_files(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    lib, app = f"metalib-{installer}", f"metaapp-{installer}"
    publish_wheel(index, lib, "1.0")
    publish_wheel(index, app, "1.0", requires=(f"{lib}>=1",))
    before = len(index.requests())
    python = new_venv(tmp_path)
    INSTALLERS[installer](index, tmp_path, python, app)
    assert installed_version(python, lib.replace("-", "_")) == "1.0"
    fetched = [r for r in index.requests()[before:] if r["path"].endswith(".metadata")]
    metadata_of = {r["path"].rsplit("/", 1)[1] for r in fetched if r["status"] == 200}
    assert f"{wheel_filename(app, '1.0')}.metadata" in metadata_of


def _cutoff(index: LocalIndex, project: str, old: str, new: str) -> str:
    publish_wheel(index, project, old)
    time.sleep(1.5)
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.5)
    publish_wheel(index, project, new)
    times = {f: e["upload-time"] for f, e in index.project_files(project).items()}
    assert times[wheel_filename(project, old)] < cutoff < times[wheel_filename(project, new)]
    return cutoff


def test_uv_exclude_newer(index: LocalIndex, tmp_path: Path) -> None:
    cutoff = _cutoff(index, "timely-uv", "1.0", "2.0")
    python = new_venv(tmp_path)
    uv(index, tmp_path, python, "--exclude-newer", cutoff, "timely-uv")
    assert installed_version(python, "timely_uv") == "1.0"
    uv(index, tmp_path, python, "--upgrade", "timely-uv")
    assert installed_version(python, "timely_uv") == "2.0"


def test_pip_uploaded_prior_to(index: LocalIndex, tmp_path: Path) -> None:
    cutoff = _cutoff(index, "timely-pip", "1.0", "2.0")
    python = new_venv(tmp_path)
    pip(index, tmp_path, python, "--uploaded-prior-to", cutoff, "timely-pip")
    assert installed_version(python, "timely_pip") == "1.0"


def test_requires_python_excludes_incompatible_files(index: LocalIndex, tmp_path: Path) -> None:
    publish_wheel(index, "pyrange", "1.0")
    publish_wheel(index, "pyrange", "2.0", requires_python=">=4")
    python = new_venv(tmp_path)
    pip(index, tmp_path, python, "pyrange")
    assert installed_version(python, "pyrange") == "1.0"
