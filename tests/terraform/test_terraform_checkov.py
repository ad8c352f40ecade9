"""checkov over the root module and modules/cognito: zero failed checks, zero parsing errors,
every skip reasoned.

checkov lives in its own virtualenv under build/ (pinned, installed once from PyPI and reused),
so its many dependencies never touch the dev environment. It runs with --skip-download: no
network at scan time.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from support.terraform import ROOT

CHECKOV_VERSION = "3.3.30"
VENV = ROOT / "build" / "checkov-venv"
#: The root module and its submodules, each scanned on its own.
MODULES = (".", "modules/cognito")
SKIP_COMMENT = re.compile(r"#checkov:skip=(CKV2?_AWS_\d+):(.*)")


@pytest.fixture(scope="session")
def checkov() -> Path:
    """Path of the pinned checkov executable, installing it on first use."""
    exe = VENV / "bin" / "checkov"
    stamp = VENV / f".checkov-{CHECKOV_VERSION}"
    if not stamp.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        try:
            venv.create(VENV, with_pip=True)
            subprocess.run(
                [VENV / "bin" / "python", "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", f"checkov=={CHECKOV_VERSION}"],
                check=True, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            output = getattr(exc, "stderr", "") or ""
            pytest.skip(f"could not install checkov {CHECKOV_VERSION}: {exc}\n{output[-2000:]}")
        stamp.touch()
    return exe


#: Inputs that change which resources or blocks exist, scanned as set as well as by default.
VARIANTS = {"lifecycle-expiry": "noncurrent_version_expiration_days = 30\n"}


@pytest.mark.parametrize("module", MODULES)
def test_checkov_passes(checkov: Path, tmp_path: Path, module: str) -> None:
    scan(checkov, tmp_path, module)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_checkov_passes_with_optional_inputs_set(
    checkov: Path, tmp_path: Path, variant: str
) -> None:
    var_file = tmp_path / "variant.tfvars"
    var_file.write_text(VARIANTS[variant])
    scan(checkov, tmp_path / "module", ".", "--var-file", str(var_file))


def scan(checkov: Path, tmp_path: Path, module: str, *extra: str) -> None:
    # Scan a copy of just the module's .tf files: examples, tests and submodules are scanned
    # on their own.
    tmp_path.mkdir(exist_ok=True)
    for tf in (ROOT / module).glob("*.tf"):
        shutil.copy(tf, tmp_path / tf.name)
    proc = subprocess.run(
        [checkov, "-d", tmp_path, "--framework", "terraform", "--skip-download", "-o", "json",
         *extra],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [
        f"{c['check_id']} {c['resource']} ({c['check_name']})"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0, report["results"]["parsing_errors"]
    assert report["summary"]["passed"] > 0


@pytest.mark.parametrize("module", MODULES)
def test_every_skip_has_a_reason(module: str) -> None:
    for tf in sorted((ROOT / module).glob("*.tf")):
        for line in tf.read_text().splitlines():
            if "checkov:skip" in line:
                match = SKIP_COMMENT.search(line)
                assert match and len(match.group(2).strip()) > 20, f"{tf.name}: {line.strip()}"
