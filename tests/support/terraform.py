"""Helpers shared by the tests/terraform/test_terraform_*.py files.

Terraform uses the local provider mirror when this machine has one (the same rule as the
Makefile), so tests never reach the public registry; elsewhere a plain ``terraform init`` works.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_MIRROR = Path("/opt/tf-plugins")
CLI_CONFIG = ROOT / ".ci" / "terraform.rc"
EXAMPLES = ("examples/minimal", "examples/complete")


def terraform_bin() -> str:
    """The terraform executable; skip (a failure under CI=true, via conftest) without one."""
    found = shutil.which("terraform")
    if found is None:
        pytest.skip("terraform is not installed")
    return found


def tf_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Process environment for terraform: mirror config, no prompts, no AWS profile leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    if PLUGIN_MIRROR.is_dir():
        env["TF_CLI_CONFIG_FILE"] = str(CLI_CONFIG)
    env.update(extra or {})
    return env


def run_tf(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run terraform with ``args`` in ``cwd``; fail the test with its output on a bad exit code."""
    proc = subprocess.run(
        [terraform_bin(), *args, "-no-color"],
        cwd=cwd,
        env=env or tf_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode not in ok_codes:
        pytest.fail(
            f"terraform {' '.join(args)} in {cwd} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
        )
    return proc


@functools.cache
def init(directory: Path) -> Path:
    """``terraform init -backend=false`` once per directory and session."""
    run_tf(["init", "-backend=false", "-input=false"], cwd=directory)
    return directory


# --- A little HCL reading, enough for files written in this repository's style ---------------


def blocks(text: str, header: str) -> dict[str, str]:
    """Bodies of the blocks whose header matches ``header`` (a regex with one group for the
    block's name), e.g. ``r'variable "(\\w+)"'``, at any indentation."""
    found = {}
    for match in re.finditer(rf"^[ \t]*{header}\s*\{{", text, re.MULTILINE):
        found[match.group(1)] = _balanced(text, match.end() - 1)
    return found


def _balanced(text: str, start: int) -> str:
    """The text inside the brace at ``start`` and its partner (braces in strings balance too)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    raise ValueError("unbalanced braces")


def attribute(body: str, name: str) -> str | None:
    """The raw expression of a top-level ``name = ...`` attribute in a block body."""
    depth = 0
    lines = body.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if depth == 0 and re.match(rf"{name}\s*=", stripped):
            expression = stripped.split("=", 1)[1].strip()
            # Multi-line values: keep reading until the brackets balance.
            rest = iter(lines[index + 1 :])
            while _depth(expression) > 0:
                expression += "\n" + next(rest)
            return expression
        depth += _depth(line)
    return None


def _depth(text: str) -> int:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return sum(without_strings.count(c) for c in "{[(") - sum(
        without_strings.count(c) for c in "}])"
    )


def hcl_string(expression: str) -> str:
    """Unquote a plain HCL string literal."""
    match = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', expression.strip())
    if match is None:
        raise ValueError(f"not a string literal: {expression!r}")
    return re.sub(r"\\(.)", r"\1", match.group(1))


def module_text(pattern: str = "*.tf") -> str:
    """All of the root module's .tf files, concatenated."""
    return "\n".join(p.read_text() for p in sorted(ROOT.glob(pattern)))
