"""README.md's inputs and outputs tables match variables.tf and outputs.tf, and
modules/cognito/README.md's match the submodule's.

The tables between the BEGIN_TF_DOCS/END_TF_DOCS markers are generated from the .tf files (in
file order, like terraform-docs' markdown table). After changing an input or output, regenerate:

    .venv/bin/python tests/terraform/test_terraform_docs.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script: make tests/support importable, as pytest does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.terraform import ROOT, attribute, blocks, hcl_string

DOC = ROOT / "README.md"
COGNITO = ROOT / "modules" / "cognito"
#: Each generated document and the module it describes.
DOCS = {DOC: ROOT, COGNITO / "README.md": COGNITO}
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().replace("|", "\\|")


def _code(expression: str) -> str:
    flat = re.sub(r"\s+", " ", expression).strip()
    flat = re.sub(r"([\[{(]) ", r"\1", re.sub(r" ([\]})])", r"\1", flat))
    return f"`{_cell(flat)}`"


def render(module: Path = ROOT) -> str:
    """The generated section for ``module``: an inputs table and an outputs table."""
    lines = ["## Inputs", "", "| Name | Description | Type | Default | Required |"]
    lines.append("|------|-------------|------|---------|:--------:|")
    variables = blocks((module / "variables.tf").read_text(), r'variable "(\w+)"')
    for name, body in variables.items():
        description = hcl_string(attribute(body, "description") or '""')
        type_ = attribute(body, "type") or "any"
        default = attribute(body, "default")
        required = "yes" if default is None else "no"
        default_cell = "n/a" if default is None else _code(default)
        row = [f"`{name}`", _cell(description), _code(type_), default_cell, required]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    outputs = blocks((module / "outputs.tf").read_text(), r'output "(\w+)"')
    for name, body in outputs.items():
        description = hcl_string(attribute(body, "description") or '""')
        lines.append(f"| `{name}` | {_cell(description)} |")
    return "\n".join(lines)


def _section(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_docs_tables_match_variables_and_outputs(doc: Path) -> None:
    assert _section(doc.read_text()) == render(DOCS[doc]), (
        f"{doc.relative_to(ROOT)} is out of date: "
        "run .venv/bin/python tests/terraform/test_terraform_docs.py"
    )


@pytest.mark.parametrize("module", DOCS.values(), ids=lambda m: str(m.relative_to(ROOT)) or ".")
def test_every_input_and_output_is_described(module: Path) -> None:
    for file, kind in (("variables.tf", "variable"), ("outputs.tf", "output")):
        for name, body in blocks((module / file).read_text(), rf'{kind} "(\w+)"').items():
            assert hcl_string(attribute(body, "description") or '""'), f"{kind} {name}"
            if kind == "variable":
                assert attribute(body, "type"), f"variable {name} has no type"


def write(doc: Path = DOC) -> None:
    """Replace the generated section of ``doc`` in place."""
    text = doc.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(f"{text[:start]}\n{render(DOCS[doc])}\n{text[end:]}")


if __name__ == "__main__":
    for doc in DOCS:
        write(doc)
    sys.exit(0)
