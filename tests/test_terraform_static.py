"""Terraform checks that need no cloud: formatting, validation, mocked plan-level tests."""

from __future__ import annotations

import pytest
from tfsupport import EXAMPLES, ROOT, init, run_tf


def test_fmt() -> None:
    """Every .tf and .tftest.hcl file is `terraform fmt` clean."""
    run_tf(["fmt", "-check", "-recursive", "-diff"], cwd=ROOT)


@pytest.mark.parametrize("directory", [".", *EXAMPLES])
def test_validate(directory: str) -> None:
    """The module and each example initialize without a backend and validate."""
    path = init(ROOT / directory)
    run_tf(["validate"], cwd=path)


def test_mocked_plan_assertions() -> None:
    """tests/terraform/*.tftest.hcl: handlers, env, routes, IAM and validation failures."""
    init(ROOT)
    proc = run_tf(["test", "-test-directory=tests/terraform"], cwd=ROOT)
    assert "0 failed" in proc.stdout
