"""The ``serverless-pypi`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from serverless_pypi import audit, config, logs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serverless-pypi", description="A private Python package index on AWS Lambda and S3."
    )
    parser.add_argument("--log-level", default="WARNING", choices=config.LOG_LEVELS)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the index on this machine")
    from serverless_pypi.local.serve import add_arguments as add_serve_arguments
    from serverless_pypi.local.serve import run as run_serve

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level)
    logging.getLogger(audit.LOGGER).setLevel(args.log_level)  # the CLI's level decides here
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except config.ConfigError as exc:
        print(f"serverless-pypi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
