"""The ``serverless-pypi`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from serverless_pypi import config, logs, names


def _progress(objects: int, projects: int) -> None:
    print(f"\r  {objects} objects, {projects} projects", end="", file=sys.stderr, flush=True)


def _reindex(args: argparse.Namespace) -> int:
    from serverless_pypi.reindex.app import ReindexApp

    settings = config.Settings(
        bucket=args.bucket, s3_endpoint_url=args.endpoint_url, region=config.load_region()
    )
    app = ReindexApp(settings)
    if args.project:
        project = names.canonical(args.project)
        if project is None:
            print(f"serverless-pypi: invalid project name {args.project!r}", file=sys.stderr)
            return 2
        report = app.rebuild_project(project)
    else:
        report = app.rebuild_all(_progress if sys.stderr.isatty() else None)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    print(
        f"reindexed bucket={args.bucket} projects={report.projects} "
        f"files_added={report.files_added} files_removed={report.files_removed} "
        f"projects_added={len(report.added)} projects_removed={len(report.removed)}"
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
    from serverless_pypi.local.serve import add_arguments as add_serve_arguments
    from serverless_pypi.local.serve import run as run_serve

    add_serve_arguments(serve)
    serve.set_defaults(func=run_serve)

    reindex = commands.add_parser(
        "reindex", help="rebuild derived index data from the objects in a bucket"
    )
    reindex.add_argument("--bucket", required=True, help="bucket name")
    scope = reindex.add_mutually_exclusive_group()
    scope.add_argument("--full", action="store_true", help="every project (the default)")
    scope.add_argument("--project", help="only this project")
    reindex.add_argument("--endpoint-url", help="S3 endpoint (S3-compatible stores, local mode)")
    reindex.set_defaults(func=_reindex)

    from serverless_pypi.cli.bucket import add_parsers as add_bucket_commands

    add_bucket_commands(commands)

    from serverless_pypi.cli.users import add_parsers as add_users_commands

    add_users_commands(commands)
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
