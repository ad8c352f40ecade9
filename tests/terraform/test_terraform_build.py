"""src/lambda_build.py: reproducible zips, the right contents, the CLI `make package` uses."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from support.terraform import ROOT

BUILDER = ROOT / "src" / "lambda_build.py"


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_build", BUILDER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(tmp: Path) -> Path:
    """A small stand-in for src/serverless_pypi, with bytecode that must be left out."""
    package = tmp / "serverless_pypi"
    (package / "templates").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text("def handler(event, context): ...\n")
    (package / "templates" / "page.html").write_text("<html></html>\n")
    (package / "__pycache__" / "api.cpython-313.pyc").write_bytes(b"\0")
    (package / "stray.pyc").write_bytes(b"\0")
    return package


def test_function_zip_is_reproducible(builder: ModuleType, tmp_path: Path) -> None:
    package = _package(tmp_path)
    first = builder.build_function(tmp_path / "a.zip", package)
    (package / "api.py").touch()  # a newer mtime must not change the zip
    second = builder.build_function(tmp_path / "b.zip", package)
    assert first == second == hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest()


def test_function_zip_contents(builder: ModuleType, tmp_path: Path) -> None:
    builder.build_function(tmp_path / "f.zip", _package(tmp_path))
    with zipfile.ZipFile(tmp_path / "f.zip") as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == [
        "serverless_pypi/__init__.py",
        "serverless_pypi/api.py",
        "serverless_pypi/templates/page.html",
    ]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_real_package_builds_with_handler_modules(builder: ModuleType, tmp_path: Path) -> None:
    builder.build_function(tmp_path / "f.zip")
    names = zipfile.ZipFile(tmp_path / "f.zip").namelist()
    assert "serverless_pypi/config.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_makefile_package_target_matches_the_cli(builder: ModuleType) -> None:
    """`make package` and the module call the same builder; its arguments must parse."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^package:.*\n\t\$\(PYTHON\) src/lambda_build\.py(.*)$", makefile, re.M)
    assert match, "Makefile's package target no longer runs src/lambda_build.py"
    args = builder.parse_args(shlex.split(match.group(1)))
    assert args.out == Path("build") and args.arch == "arm64" and args.python_version == "3.13"


def test_terraform_build_arguments_parse(builder: ModuleType) -> None:
    """The argument list package.layer.tf passes as local-exec interpreter + command."""
    argv = "--function-zip b/function.zip --layer-zip b/layer.zip --arch x86_64"
    args = builder.parse_args(
        [*argv.split(), "--requirement", "boto3==1.0", "--python-version=3.12"]
    )
    assert args.arch == "x86_64" and args.requirements == ["boto3==1.0"]
    assert args.python_version == "3.12"
    text = (ROOT / "package.layer.tf").read_text()
    for flag in ("--function-zip", "--layer-zip", "--arch", "--requirement", "--python-version"):
        assert flag in text


def test_layer_pins_cover_the_runtime_dependencies(builder: ModuleType) -> None:
    """Every dependency in pyproject.toml is pinned in the layer."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)\]", pyproject, re.M | re.S)
    assert deps
    wanted = {re.split(r"[<>=!~ ]", d)[0].lower() for d in re.findall(r'"([^"]+)"', deps[1])}
    pinned = {r.split("==")[0].lower() for r in builder.LAYER_REQUIREMENTS}
    assert wanted - builder.CLI_ONLY_REQUIREMENTS <= pinned
    assert not builder.CLI_ONLY_REQUIREMENTS & pinned
    assert all("==" in r for r in builder.LAYER_REQUIREMENTS)


def test_cli_builds_function_only(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, BUILDER, "--out", tmp_path, "--only", "function"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert (tmp_path / "function.zip").exists() and "sha256=" in proc.stdout
    assert not list(tmp_path.glob("layer-*"))
