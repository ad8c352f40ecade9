"""The CLI's dependencies stay out of the Lambda functions: tqdm is imported by the CLI only,
and only when it draws a bar; the layer the Terraform module deploys does not contain it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_lambda_handlers_import_nothing_of_the_cli() -> None:
    loaded = _modules_after(
        "import serverless_pypi.api, serverless_pypi.reindex, serverless_pypi.authorizer"
    )
    assert "serverless_pypi.api.app" in loaded  # the handlers really were imported
    assert not {m for m in loaded if m.split(".")[0] == "tqdm"}
    assert not {m for m in loaded if m.startswith(("serverless_pypi.cli", "serverless_pypi.local"))}


def test_the_cli_imports_tqdm_only_to_draw() -> None:
    loaded = _modules_after(
        "from serverless_pypi import cli\n"
        "from serverless_pypi.cli import progress\n"
        "cli.build_parser()\n"
        "with progress.Progress().bar('x', 3, unit='files') as bar: bar.to(1)"  # not a terminal
    )
    assert "serverless_pypi.cli.progress" in loaded
    assert "tqdm" not in loaded


def test_the_lambda_layer_does_not_contain_tqdm() -> None:
    spec = importlib.util.spec_from_file_location("lambda_build", SRC / "lambda_build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    names = {r.split("==")[0].lower() for r in build.LAYER_REQUIREMENTS}
    assert "boto3" in names and "tqdm" not in names
