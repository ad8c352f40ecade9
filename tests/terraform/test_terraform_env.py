"""The environment the module gives each function is exactly what its handler reads.

Read from both sides: the keys of each aws_lambda_function's ``environment.variables`` in the
.tf files, and ``config.API_ENV_VARS`` / ``config.REINDEX_ENV_VARS`` (root module) and
``config.AUTHORIZER_ENV_VARS`` (modules/cognito).
"""

from __future__ import annotations

import re

import pytest
from support.terraform import attribute, blocks, module_text

from serverless_pypi import config

COGNITO = "modules/cognito/*.tf"


def _env_keys(function: str, text: str | None = None) -> set[str]:
    resources = blocks(text or module_text(), r'resource "aws_lambda_function" "(\w+)"')
    environment = blocks(resources[function], r"environment()")
    assert environment, f"aws_lambda_function.{function} has no environment block"
    variables = attribute(environment[""], "variables")
    assert variables is not None, f"aws_lambda_function.{function} sets no variables"
    return set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", variables, re.MULTILINE))


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("api", config.API_ENV_VARS),
        ("reindex", config.REINDEX_ENV_VARS),
        ("upstream_copy", config.UPSTREAM_COPY_ENV_VARS),
    ],
)
def test_function_environment_matches_config(function: str, expected: frozenset[str]) -> None:
    assert _env_keys(function) == set(expected)


def test_authorizer_environment_matches_config() -> None:
    """modules/cognito's function sets exactly what serverless_pypi.authorizer reads."""
    assert _env_keys("authorizer", module_text(COGNITO)) == set(config.AUTHORIZER_ENV_VARS)


def test_local_only_variables_never_set() -> None:
    """S3_ENDPOINT_URL and COGNITO_ENDPOINT_URL are for local mode; no module mentions them."""
    for text in (module_text(), module_text(COGNITO)):
        for name in config.LOCAL_ONLY_ENV_VARS:
            assert name not in text
