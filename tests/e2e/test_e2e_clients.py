"""Real pip and uv install from ``serverless-pypi serve``, through the full S3 → SNS → reindex
chain, into throwaway virtualenvs. Distributions are built here; nothing touches the internet."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.clients import INSTALLERS, installed_version, new_venv
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename
from support.localserver import LocalIndex, wait_for


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_wheel_under_non_canonical_prefix_installs(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    index.publish("My_Pkg/" + wheel_filename("my-pkg", "1.0"), wheel_bytes("my-pkg", "1.0"))
    index.publish("My_Pkg/" + wheel_filename("my-pkg", "1.1"), wheel_bytes("my-pkg", "1.1"))
    python = new_venv(tmp_path, "venv")
    INSTALLERS[installer](index, tmp_path, python, "My.Pkg<1.1")
    assert installed_version(python, "my_pkg") == "1.0"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_private_dependency_resolves_from_the_index(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    index.publish("corelib/" + wheel_filename("corelib", "2.0"), wheel_bytes("corelib", "2.0"))
    app = wheel_bytes("app-tool", "0.3", requires=("corelib>=2",))
    index.publish("app-tool/" + wheel_filename("app-tool", "0.3"), app)
    python = new_venv(tmp_path, "venv")
    INSTALLERS[installer](index, tmp_path, python, "app-tool")
    assert installed_version(python, "app_tool") == "0.3"
    assert installed_version(python, "corelib") == "2.0"


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_sdist_builds_and_installs_offline(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    name = f"srconly-{installer}"
    index.publish(f"{name}/" + sdist_filename(name, "0.5"), sdist_bytes(name, "0.5"))
    python = new_venv(tmp_path, "venv")
    INSTALLERS[installer](index, tmp_path, python, name)
    assert installed_version(python, name.replace("-", "_")) == "0.5"


def test_deleted_file_leaves_the_index(index: LocalIndex) -> None:
    key = "gone-soon/" + wheel_filename("gone-soon", "1.0")
    index.publish(key, wheel_bytes("gone-soon", "1.0"))
    index.s3().delete_object(Bucket=index.bucket, Key=key)
    wait_for(lambda: "gone-soon" not in index.root_projects(), what="gone-soon removed")
