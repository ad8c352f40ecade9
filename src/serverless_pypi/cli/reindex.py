"""``serverless-pypi reindex``: rebuild (or verify) the derived data of a bucket."""

from __future__ import annotations

import argparse
from typing import Any

from serverless_pypi import config, layout, names
from serverless_pypi.cli import failures, parsing
from serverless_pypi.cli.progress import Progress
from serverless_pypi.reindex.root import RebuildReport
from serverless_pypi.storage import Bucket


def add_parser(commands: Any) -> None:
    """Register the command on ``build_parser()``'s subparsers."""
    reindex = commands.add_parser(
        "reindex",
        help="rebuild derived index data from the objects in a bucket",
        description="Rebuild the derived index data (hashes, metadata, pages, the root page) "
        "from the objects in a bucket: every project by default, or one with --project. "
        "Upload times and yanks are kept. On a terminal a full rebuild shows projects done of "
        "the total and an ETA.",
        epilog=parsing.examples(
            "serverless-pypi reindex --bucket NAME",
            "serverless-pypi reindex --bucket NAME --project my-pkg",
            "serverless-pypi reindex --bucket NAME --verify",
            "serverless-pypi reindex --bucket pypi --endpoint-url http://127.0.0.1:9000",
        ),
    )
    parsing.bucket_options(reindex)
    scope = reindex.add_mutually_exclusive_group()
    scope.add_argument("--full", action="store_true", help="every project (the default)")
    scope.add_argument("--project", help="only this project (any spelling)")
    reindex.add_argument(
        "--verify",
        action="store_true",
        help="re-read every object, repair and list each difference (upload times that "
        "differ from the object's LastModified are reset to it)",
    )
    parsing.quiet_option(reindex)
    reindex.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serverless_pypi.reindex.app import ReindexApp

    settings = config.Settings(
        bucket=args.bucket, s3_endpoint_url=args.endpoint_url, region=config.load_region()
    )
    app = ReindexApp(settings)
    if args.project:
        project = names.canonical(args.project)
        if project is None:
            raise failures.CommandFailed(f"invalid project name {args.project!r}", code=2)
        report = app.rebuild_project(project, verify=args.verify)
        _print_project(app.bucket, project, report, verify=args.verify)
        return 0
    progress = Progress(quiet=args.quiet)
    total = count_projects(app.bucket) if progress.enabled else 0
    with progress.bar("projects", total, unit="projects") as bar:

        def advance(objects: int, projects: int) -> None:
            bar.note(objects=objects)
            bar.to(projects)

        report = app.rebuild_all(advance if progress.enabled else None, verify=args.verify)
        bar.finish()
    verified = f" differences={len(report.differences)}" if args.verify else ""
    print(
        f"reindexed bucket={args.bucket} projects={report.projects} "
        f"files_added={report.files_added} files_removed={report.files_removed} "
        f"projects_added={len(report.added)} projects_removed={len(report.removed)}{verified}"
    )
    _print_changes(report)
    return 0


def count_projects(bucket: Bucket) -> int:
    """The projects a full rebuild will go through, from one delimiter listing (a request per
    thousand top-level prefixes, against about ten per project for the rebuild itself)."""
    return len(
        {
            project
            for prefix in bucket.list_prefixes("")
            if not layout.is_reserved_key(prefix + "/")
            and (project := names.canonical(prefix)) is not None
        }
    )


def _print_project(bucket: Bucket, project: str, report: RebuildReport, *, verify: bool) -> None:
    """What the rebuild found for this project, not the whole index; ``CommandFailed`` when
    the project has no files (and had none in the index: nothing was changed)."""
    from serverless_pypi.reindex.project import ProjectIndex

    files, _ = ProjectIndex(bucket, project).load()
    if not files and project not in report.removed:
        raise failures.CommandFailed(
            f"project {project!r} has no files in bucket {bucket.name!r} (any spelling of "
            f"{project}/ was looked for): nothing to reindex"
        )
    versions = {key.dist.version for key in map(names.parse_key, files) if key is not None}
    state = "removed from the index (no files left)" if not files else "listed"
    verified = f" differences={len(report.differences)}" if verify else ""
    print(
        f"reindexed project={project} bucket={bucket.name} files={len(files)} "
        f"versions={len(versions)} files_added={report.files_added} "
        f"files_removed={report.files_removed} {state}{verified}"
    )
    _print_changes(report)


def _print_changes(report: RebuildReport) -> None:
    for name in report.added:
        print(f"  + {name}")
    for name in report.removed:
        print(f"  - {name}")
    for difference in report.differences:
        print(f"  ! {difference}")
