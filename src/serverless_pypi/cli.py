"""The ``serverless-pypi`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import config, logs


def _reindex(args: argparse.Namespace) -> int:
    from .reindex import ReindexApp

    settings = config.Settings(
        bucket=args.bucket,
        s3_endpoint_url=args.endpoint_url,
        region=config.load_region(),
    )
    report = ReindexApp(settings).rebuild_all()
    print(
        f"reindexed bucket={args.bucket} projects={report.projects} "
        f"added={len(report.added)} removed={len(report.removed)}"
    )
    for name in report.added:
        print(f"  + {name}")
    for name in report.removed:
        print(f"  - {name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serverless-pypi", description="A private Python package index on AWS Lambda and S3."
    )
    parser.add_argument("--log-level", default="WARNING", choices=config.LOG_LEVELS)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the index on this machine")
    from .local.serve import add_arguments as add_serve_arguments
    from .local.serve import run as run_serve

    add_serve_arguments(serve)
    serve.set_defaults(func=run_serve)

    reindex = commands.add_parser("reindex", help="rebuild the index of a bucket")
    reindex.add_argument("--bucket", required=True, help="bucket name")
    reindex.add_argument("--endpoint-url", help="S3 endpoint (S3-compatible stores, local mode)")
    reindex.set_defaults(func=_reindex)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except config.ConfigError as exc:
        print(f"serverless-pypi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
