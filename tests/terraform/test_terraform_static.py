"""Terraform checks that need no cloud: formatting, validation, mocked plan-level tests."""

from __future__ import annotations

import pytest
from support.terraform import EXAMPLES, ROOT, init, run_tf

SUBMODULES = ("modules/cognito",)


def test_fmt() -> None:
    """Every .tf and .tftest.hcl file is `terraform fmt` clean."""
    run_tf(["fmt", "-check", "-recursive", "-diff"], cwd=ROOT)


@pytest.mark.parametrize("directory", [".", *SUBMODULES, *EXAMPLES])
def test_validate(directory: str) -> None:
    """The module, its submodules and each example initialize without a backend and validate."""
    path = init(ROOT / directory)
    run_tf(["validate"], cwd=path)


def test_mocked_plan_assertions() -> None:
    """tests/terraform/*.tftest.hcl: handlers, env, routes, IAM and validation failures, for the
    root module and (through run blocks' `module`) modules/cognito."""
    init(ROOT)
    # Run blocks that plan another module need it installed from the test directory.
    run_tf(["init", "-backend=false", "-input=false", "-test-directory=tests/terraform"], cwd=ROOT)
    proc = run_tf(["test", "-test-directory=tests/terraform"], cwd=ROOT)
    assert "0 failed" in proc.stdout


def test_version_constraints() -> None:
    """Terraform >= 1.5; the aws provider constraint admits 5.100 (this machine) and 6.x."""
    for directory in (".", *SUBMODULES):
        text = (ROOT / directory / "versions.tf").read_text()
        assert 'required_version = ">= 1.5"' in text
        assert 'version = ">= 5.0, < 7.0"' in text
    assert (
        not (ROOT / ".terraform.lock.hcl").exists()
        or ".terraform.lock.hcl" in (ROOT / ".gitignore").read_text()
    )
