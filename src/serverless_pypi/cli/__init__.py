"""The ``serverless-pypi`` command.

Each module registers its subcommands (``add_parser``/``add_parsers``); ``parsing.finish`` then
gives all of them the common options. Errors that stop a command are one line on stderr:
``failures.CommandFailed`` with its code, the index's errors (``errors.py``) with 1, S3 failures
explained by ``failures.explain``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TextIO, cast

from serverless_pypi import audit, config, logs
from serverless_pypi.cli import failures, parsing
from serverless_pypi.errors import PackageIndexError, StoreUnavailable

PROG = "serverless-pypi"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(PROG)
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A private Python package index on AWS Lambda and S3.",
        epilog="`serverless-pypi COMMAND --help` describes a command, with examples.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--log-level", default="WARNING", choices=config.LOG_LEVELS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from serverless_pypi.local.serve import add_arguments as add_serve_arguments
    from serverless_pypi.local.serve import run as run_serve

    serve = commands.add_parser(
        "serve",
        help="run the index on this machine",
        description="Run the index on this machine: the Lambda handlers behind a local HTTP "
        "server, with an embedded S3 bucket (moto) kept in a data directory, or an existing "
        "bucket with --bucket. Prints the lines the README shows, then serves until Ctrl-C.",
        epilog=parsing.examples(
            "serverless-pypi serve",
            "serverless-pypi serve --port 9000 --s3-port 9001 --data-dir ~/pypi-data",
            "serverless-pypi serve --auth",
            "serverless-pypi serve --bucket NAME --endpoint-url http://127.0.0.1:9000",
        ),
    )
    add_serve_arguments(serve)
    serve.set_defaults(func=run_serve)

    from serverless_pypi.cli.reindex import add_parser as add_reindex_command

    add_reindex_command(commands)

    from serverless_pypi.cli.bucket import add_parsers as add_bucket_commands

    add_bucket_commands(commands)

    from serverless_pypi.cli.lifecycle import add_parsers as add_lifecycle_commands

    add_lifecycle_commands(commands)

    from serverless_pypi.cli.users import add_parsers as add_users_commands

    add_users_commands(commands)
    parsing.finish(parser)
    return parser


class _CurrentStderr:
    """Log lines go to stderr (stdout carries results), to whatever it is at the time."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level, stream=cast(TextIO, _CurrentStderr()))
    logging.getLogger(audit.LOGGER).setLevel(args.log_level)  # the CLI's level decides here
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except config.ConfigError as exc:
        return _fail(str(exc), 2)
    except failures.CommandFailed as exc:
        return _fail(exc.message, exc.code)
    except StoreUnavailable as exc:
        return _fail(failures.explain(exc, failures.Target.of(args)).message, 1)
    except PackageIndexError as exc:
        return _fail(exc.message, 1)


if __name__ == "__main__":
    sys.exit(main())
