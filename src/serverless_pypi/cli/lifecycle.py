"""``serverless-pypi status`` and ``prune``: a project's life after release, bucket-direct.

``status`` writes the project's PEP 792 marker (see ``status``); ``prune`` deletes old
versions whole (see ``retention``). Like ``yank`` and ``delete`` they use the caller's AWS
credentials and S3 only: the reindexer picks the changes up from their S3 events. On a
versioned bucket (as the Terraform module creates) pruned files stay recoverable; the README
says how.

Exit codes: 0 when done (or nothing to do), 1 when S3 failed or a prune was not confirmed,
2 for usage errors.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from packaging.utils import NormalizedName

from serverless_pypi import catalog, names, publish, retention, status
from serverless_pypi.cli import parsing
from serverless_pypi.cli.bucket import _bucket, _confirm, _error, _human
from serverless_pypi.errors import PackageIndexError, Refused, StoreUnavailable
from serverless_pypi.storage import Bucket

STATES = tuple(s.value for s in status.Status)


def _canonical(argument: str) -> NormalizedName:
    project = names.canonical(argument)
    if project is None:
        raise Refused(f"invalid project name {argument[:200]!r}")
    return project


def _failed(exc: PackageIndexError) -> int:
    """A refusal is this command's one line; an S3 failure goes to ``main``, which explains it
    (``failures.explain``) in one line naming the bucket or endpoint and the fix."""
    if isinstance(exc, StoreUnavailable):
        raise exc
    _error(exc.message)
    return 1


# -- status -----------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    try:
        project = _canonical(args.project)
        reason = status.clean_reason(args.reason)
    except Refused as exc:
        _error(exc.message)
        return 2
    if args.state is None and reason:
        _error("--reason needs a status to go with")
        return 2
    bucket = _bucket(args)
    try:
        if args.state is None:
            print(f"{project}: {status.read(bucket, project).describe()}")
            return 0
        wanted = status.ProjectStatus(status.Status(args.state), reason)
        status.write(bucket, project, wanted)
        files = catalog.spellings(bucket, project)
    except PackageIndexError as exc:
        return _failed(exc)
    print(f"{project}: {wanted.describe()}{_meaning(wanted.status)}")
    if not files:
        print(f"{project}: note: no files in bucket {bucket.name} yet")
    return 0


def _meaning(state: status.Status) -> str:
    return {
        status.Status.ARCHIVED: " - uploads refused, files still served",
        status.Status.QUARANTINED: " - uploads refused, no file served",
        status.Status.DEPRECATED: " - installers may warn",
    }.get(state, "")


# -- prune ------------------------------------------------------------------------------------


def _policy(args: argparse.Namespace) -> retention.Policy:
    if args.keep_last is not None and args.keep_last < 0:
        raise Refused("--keep-last must be 0 or more")
    try:
        age = retention.parse_age(args.older_than) if args.older_than else None
    except ValueError as exc:
        raise Refused(f"--older-than: {exc}") from None
    policy = retention.Policy(keep_last=args.keep_last, dev_only=args.dev_only, older_than=age)
    if not policy.selects:
        raise Refused("say what to prune: --keep-last N, --dev-only and/or --older-than AGE")
    if (args.project is None) == (not args.all):
        raise Refused("name a PROJECT or give --all (not both)")
    return policy


def _stored_files(bucket: Bucket, prefixes: Iterable[str]) -> list[retention.StoredFile]:
    found = []
    for prefix in prefixes:
        for obj in bucket.list_objects(prefix + "/"):
            location = names.parse_key(obj.key)
            if location is not None:
                found.append(
                    retention.StoredFile(
                        obj.key, location.dist.version, obj.size, obj.last_modified
                    )
                )
    return found


def _projects(bucket: Bucket, project: NormalizedName | None) -> dict[str, list[str]]:
    """Project → its spellings (prefixes): one project, or every project in the bucket."""
    if project is not None:
        return {project: catalog.spellings(bucket, project)}
    found: dict[str, list[str]] = defaultdict(list)
    for prefix in bucket.list_prefixes(""):
        canonical = names.canonical(prefix)
        if canonical is not None:
            found[canonical].append(prefix)
    return dict(sorted(found.items()))


def _show(plan: retention.Plan) -> None:
    kept = f"newest release {plan.protected} always kept" if plan.protected else "no release"
    print(
        f"{plan.project}: delete {len(plan.delete)} version(s), {plan.files} file(s), "
        f"{_human(plan.size)}; keep {len(plan.keep)} ({kept})"
    )
    for release in plan.delete:
        day = release.newest.astimezone(UTC).date().isoformat()
        print(f"  - {release.version} ({len(release.files)} files, {_human(release.size)}, {day})")
        for f in release.files:
            print(f"      {f.key}")


def run_prune(args: argparse.Namespace) -> int:
    try:
        policy = _policy(args)
        project = _canonical(args.project) if args.project is not None else None
    except Refused as exc:
        _error(exc.message)
        return 2
    bucket = _bucket(args)
    now = datetime.now(UTC)
    try:
        plans = [
            retention.plan(name, _stored_files(bucket, prefixes), policy, now)
            for name, prefixes in _projects(bucket, project).items()
        ]
    except PackageIndexError as exc:
        return _failed(exc)
    plans = [p for p in plans if p.delete]
    if not plans:
        print("nothing to prune")
        return 0
    for plan in plans:
        _show(plan)
    files = sum(p.files for p in plans)
    versions = sum(len(p.delete) for p in plans)
    size = _human(sum(p.size for p in plans))
    what = f"{files} file(s) of {versions} version(s) in {len(plans)} project(s), {size}"
    if args.dry_run:
        print(f"dry run: would delete {what}; nothing deleted")
        return 0
    if not args.yes and not _confirm(f"Delete {what} from bucket {bucket.name}?"):
        _error("nothing deleted")
        return 1
    return _delete(bucket, plans, what)


def _delete(bucket: Bucket, plans: list[retention.Plan], what: str) -> int:
    deleted = 0
    try:
        for plan in plans:
            for release in plan.delete:
                for f in release.files:
                    publish.delete(bucket, f.key)
                    deleted += 1
    except PackageIndexError as exc:
        _failed(exc)
        _error(f"deleted {deleted} file(s) before the failure; run prune again to finish")
        return 1
    print(f"deleted {what}")
    print("restore: the bucket's object versions keep them (README: Restoring pruned files)")
    return 0


# -- parser -----------------------------------------------------------------------------------


def add_parsers(commands: Any) -> None:
    """Register the commands on ``build_parser()``'s subparsers."""
    st = commands.add_parser(
        "status",
        help="show or set a project's status (PEP 792)",
        description="Without STATUS, show the project's status. archived: uploads refused, "
        "files still served; quarantined: uploads refused and no file served; deprecated: "
        "installers may warn; active: the default.",
        epilog=parsing.examples(
            'serverless-pypi status pkg archived --reason "superseded by pkg2" --bucket NAME',
            "serverless-pypi status pkg --bucket NAME",
            "serverless-pypi status pkg active --bucket NAME",
        ),
    )
    st.add_argument("project", metavar="PROJECT")
    st.add_argument("state", metavar="STATUS", nargs="?", choices=STATES, help="|".join(STATES))
    st.add_argument("--reason", default="", help="why, shown to clients")
    parsing.bucket_options(st)
    st.set_defaults(func=run_status)

    prune = commands.add_parser(
        "prune",
        help="delete old versions of projects",
        description="Delete whole versions (all their files and yank marks) that every "
        "criterion given selects. The newest final release is never deleted. Shows what "
        "it will delete and asks first.",
        epilog=parsing.examples(
            "serverless-pypi prune pkg --keep-last 5 --dry-run --bucket NAME",
            "serverless-pypi prune --all --dev-only --older-than 90d --bucket NAME",
        ),
    )
    prune.add_argument("project", metavar="PROJECT", nargs="?")
    prune.add_argument("--all", action="store_true", help="every project in the bucket")
    prune.add_argument("--keep-last", type=int, metavar="N", help="keep the N newest versions")
    prune.add_argument(
        "--dev-only", action="store_true", help="only development releases (1.0.dev3)"
    )
    prune.add_argument("--older-than", metavar="AGE", help="only versions older than 90d/12w/36h")
    prune.add_argument("--dry-run", action="store_true", help="show the plan; delete nothing")
    prune.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parsing.bucket_options(prune)
    prune.set_defaults(func=run_prune)
