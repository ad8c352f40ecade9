"""``serverless-pypi --version``, every subcommand's ``--help`` (a description and examples)
and ``--log-level`` on either side of the subcommand."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess

import boto3
import pytest
from support.localserver import serverless_pypi_command

from serverless_pypi import cli
from serverless_pypi.cli import parsing


def command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*serverless_pypi_command(), *args], capture_output=True, text=True, timeout=60
    )


def test_version() -> None:
    result = command("--version")
    assert result.returncode == 0
    assert (
        result.stdout.strip() == f"serverless-pypi {importlib.metadata.version('serverless-pypi')}"
    )


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(((*path, name), sub))
                found.extend(_commands(sub, (*path, name)))
    return found


#: Every subcommand, however deep (users add, ...), including ones added later.
ALL = _commands(cli.build_parser())


def test_every_command_is_listed() -> None:
    names = {" ".join(path) for path, _ in ALL}
    expected = {"serve", "reindex", "upload", "yank", "unyank", "delete", "users"}
    assert expected | {"users add", "users remove", "users list"} <= names


@pytest.mark.parametrize(("path", "parser"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_has_a_description_and_an_example(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    assert parser.description, f"{' '.join(path)} has no description"
    result = command(*path, "--help")
    assert result.returncode == 0
    assert parser.description.split()[0] in result.stdout
    assert f"\n{parsing.EXAMPLES}\n" in result.stdout
    examples = result.stdout.split(f"\n{parsing.EXAMPLES}\n", 1)[1].splitlines()
    # Each example is a whole command line of this very command, as written.
    assert examples and all(
        f"serverless-pypi {' '.join(path)} " in f"{line} " for line in examples if line
    ), examples
    assert "--log-level" in result.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_log_level_on_either_side(where: str, moto_server: str) -> None:
    """INFO logs show up on stderr (never stdout) whichever side of the subcommand it is."""
    bucket = f"log-level-{where}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    options = ["--bucket", bucket, "--endpoint-url", moto_server]
    level = ["--log-level", "INFO"]
    argv = [*level, "reindex", *options] if where == "before" else ["reindex", *options, *level]
    result = command(*argv)
    assert result.returncode == 0, result.stderr
    assert '"message": "full rebuild"' in result.stderr
    assert '"level"' not in result.stdout
    quiet = command("reindex", *options)
    assert quiet.returncode == 0 and '"level"' not in quiet.stderr + quiet.stdout


def test_log_level_after_subcommand_keeps_the_top_level_default() -> None:
    args = cli.build_parser().parse_args(["upload", "x.whl", "--bucket", "b"])
    assert args.log_level == "WARNING"
    args = cli.build_parser().parse_args(
        ["--log-level", "INFO", "upload", "x.whl", "--bucket", "b"]
    )
    assert args.log_level == "INFO"
    args = cli.build_parser().parse_args(
        ["users", "list", "--user-pool-id", "r_x", "--log-level", "ERROR"]
    )
    assert args.log_level == "ERROR"
