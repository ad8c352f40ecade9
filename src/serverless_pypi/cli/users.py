"""``serverless-pypi users``: manage the index's readers and uploaders in a Cognito user pool.

The same commands manage a real pool (the Terraform module's ``user_pool_id`` output, with the
caller's AWS credentials) and the local server's embedded one (``serve --auth`` prints its
``cognito:`` endpoint and pool id). A password is read from a prompt or from stdin, never from the
command line, where other users of the machine and shell history would see it.

Readers are the pool's users; uploaders are the members of the uploaders group.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, TextIO

from serverless_pypi import config
from serverless_pypi.cli import user_pool
from serverless_pypi.cli.parsing import examples
from serverless_pypi.errors import PackageIndexError

PROG = "serverless-pypi users"


class UsageError(Exception):
    """The command line or the password input cannot be used as given: like argparse's own
    usage errors, reported in one line with exit code 2."""


def exit_code(error: UsageError | PackageIndexError) -> int:
    """2 for usage errors; 1 for what the user pool refused (``Refused``, ``Conflict``), lacks
    (``NotFound``), forbids (``Forbidden``) or failed to do (``StoreUnavailable``)."""
    return 2 if isinstance(error, UsageError) else 1


# -- password input ------------------------------------------------------------------------------


def read_password(from_stdin: bool, stdin: TextIO | None = None) -> str:
    """One line from stdin (without its line break), or a prompt with confirmation."""
    if from_stdin:
        line = (stdin or sys.stdin).readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UsageError("no password on stdin (expected one line)")
        return password
    try:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except EOFError:
        raise UsageError("no password entered (use --password-stdin to pipe one)") from None
    if password != again:
        raise UsageError("the passwords do not match")
    if not password:
        raise UsageError("empty password")
    return password


# -- command line --------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user-pool-id",
        required=True,
        help="the Cognito user pool (the module's user_pool_id output, or the id `serve --auth` "
        "prints)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="Cognito endpoint (the `cognito:` URL `serve --auth` prints); default AWS",
    )
    parser.add_argument(
        "--uploaders-group",
        default=config.DEFAULT_UPLOADERS_GROUP,
        help="the group whose members may upload (default: %(default)s)",
    )


def add_parsers(commands: Any) -> None:
    """Register ``users add|remove|list`` under the CLI's subcommands."""
    users = commands.add_parser(
        "users",
        help="manage the index's users in a Cognito user pool",
        description="Manage the index's users (readers) and uploaders in a Cognito user pool, "
        "with your AWS credentials.",
        epilog=examples(
            "serverless-pypi users add alice --upload --user-pool-id ID --endpoint-url URL",
            "serverless-pypi users list --user-pool-id us-east-1_AbCdEf123",
        ),
    )
    actions = users.add_subparsers(dest="users_command", required=True)

    add = actions.add_parser(
        "add",
        allow_abbrev=False,  # "--password" must not pass for "--password-stdin"
        help="create a user (a reader; --upload makes an uploader)",
        description="Create a user with a permanent password. The password is read from a "
        "prompt, or from one line of stdin with --password-stdin; never from an argument.",
        epilog=examples(
            "serverless-pypi users add alice --upload --user-pool-id ID   # prompts twice",
            'echo "$PASSWORD" | serverless-pypi users add bob --password-stdin --user-pool-id ID',
        ),
    )
    add.add_argument("name")
    add.add_argument("--upload", action="store_true", help="allow this user to upload")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    _common(add)
    add.set_defaults(func=run_add)

    remove = actions.add_parser(
        "remove",
        help="delete a user",
        description="Delete a user from the pool; the index refuses them at once.",
        epilog=examples("serverless-pypi users remove bob --user-pool-id ID --endpoint-url URL"),
    )
    remove.add_argument("name")
    _common(remove)
    remove.set_defaults(func=run_remove)

    listing = actions.add_parser(
        "list",
        help="list users: name, status, uploader, groups",
        description="List the pool's users with their status, whether they may upload, and "
        "their groups.",
        epilog=examples("serverless-pypi users list --user-pool-id ID --endpoint-url URL"),
    )
    _common(listing)
    listing.set_defaults(func=run_list)


def _client(args: argparse.Namespace) -> Any:
    if user_pool.pool_region(args.user_pool_id) is None:
        raise UsageError(f"not a user pool id: {args.user_pool_id!r} (expected REGION_ID)")
    return user_pool.make_client(args.user_pool_id, args.endpoint_url)


def _run(action: Any) -> int:
    """``action``'s exit code, or its error reported in one line and its ``exit_code``."""
    try:
        return int(action())
    except (UsageError, PackageIndexError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exit_code(exc)


def run_add(args: argparse.Namespace) -> int:
    def action() -> int:
        client = _client(args)
        password = read_password(args.password_stdin)
        user_pool.add_user(
            client,
            args.user_pool_id,
            args.name,
            password,
            uploader=args.upload,
            group=args.uploaders_group,
        )
        role = "uploader" if args.upload else "reader"
        print(f"added {args.name} ({role})")
        return 0

    return _run(action)


def run_remove(args: argparse.Namespace) -> int:
    def action() -> int:
        user_pool.remove_user(_client(args), args.user_pool_id, args.name)
        print(f"removed {args.name}")
        return 0

    return _run(action)


def run_list(args: argparse.Namespace) -> int:
    def action() -> int:
        client = _client(args)
        rows = user_pool.list_users(client, args.user_pool_id, args.uploaders_group)
        groups = user_pool.user_groups(client, args.user_pool_id)
        width = max([len("NAME"), *(len(name) for name, _, _ in rows)])
        status_width = max([len("STATUS"), *(len(status) for _, status, _ in rows)])
        print(f"{'NAME':<{width}}  {'STATUS':<{status_width}}  UPLOADER  GROUPS")
        for name, status, uploader in rows:
            shown = ",".join(groups.get(name, [])) or "-"
            flag = "yes" if uploader else "no"
            print(f"{name:<{width}}  {status:<{status_width}}  {flag:<8}  {shown}")
        return 0

    return _run(action)
