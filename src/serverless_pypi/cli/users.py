"""``serverless-pypi users``: manage the index's readers and uploaders in a Cognito user pool.

The same commands manage a real pool (the Terraform module's ``user_pool_id`` output, with the
caller's AWS credentials) and the local server's embedded one (``serve --auth`` prints its
``cognito:`` endpoint and pool id). A password is read from a prompt or from stdin, never from the
command line, where other users of the machine and shell history would see it.

Readers are the pool's users; uploaders are the members of the uploaders group.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from serverless_pypi import config

#: A Cognito user pool id is ``<region>_<id>``; the region comes from there unless configured.
POOL_ID_SEPARATOR = "_"


class UsersError(Exception):
    """A failure to report in one line, with the command's exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _region(pool_id: str) -> str:
    region, sep, rest = pool_id.partition(POOL_ID_SEPARATOR)
    if not sep or not region or not rest:
        raise UsersError(f"not a user pool id: {pool_id!r} (expected REGION_ID)", 2)
    return region


def make_client(pool_id: str, endpoint_url: str | None) -> Any:
    """A cognito-idp client with the caller's credentials, in the pool's region."""
    import boto3

    return boto3.client("cognito-idp", region_name=_region(pool_id), endpoint_url=endpoint_url)


def _error(exc: Exception) -> UsersError:
    """One line for an AWS failure: Cognito's own code and message, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message") or str(exc)
        return UsersError(f"{code}: {message}")
    if isinstance(exc, NoCredentialsError):
        return UsersError(
            f"{exc} (these commands use your AWS credentials; for the local server's pool "
            "any values work, e.g. AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x)"
        )
    if isinstance(exc, BotoCoreError):
        return UsersError(str(exc))
    raise exc


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


# -- password input ------------------------------------------------------------------------------


def read_password(from_stdin: bool, stdin: TextIO | None = None) -> str:
    """One line from stdin (without its line break), or a prompt with confirmation."""
    if from_stdin:
        line = (stdin or sys.stdin).readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UsersError("no password on stdin (expected one line)", 2)
        return password
    try:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except EOFError:
        raise UsersError("no password entered (use --password-stdin to pipe one)", 2) from None
    if password != again:
        raise UsersError("the passwords do not match", 2)
    if not password:
        raise UsersError("empty password", 2)
    return password


# -- operations ----------------------------------------------------------------------------------


def add_user(
    client: Any, pool_id: str, name: str, password: str, *, uploader: bool, group: str
) -> None:
    """Create a confirmed user with a permanent password (no invitation message is sent);
    nothing is left behind if the password is refused."""
    try:
        client.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    except Exception as exc:
        if _error_code(exc) == "UsernameExistsException":
            raise UsersError(f"user {name!r} already exists") from None
        raise _error(exc) from None
    try:
        client.admin_set_user_password(
            UserPoolId=pool_id, Username=name, Password=password, Permanent=True
        )
        if uploader:
            client.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=group)
    except Exception as exc:
        with contextlib.suppress(Exception):  # the original failure is the one to report
            client.admin_delete_user(UserPoolId=pool_id, Username=name)
        if _error_code(exc) == "InvalidPasswordException":
            message = exc.response["Error"].get("Message", "")  # type: ignore[attr-defined]
            raise UsersError(f"password refused by the user pool: {message}") from None
        raise _error(exc) from None


def remove_user(client: Any, pool_id: str, name: str) -> None:
    try:
        client.admin_delete_user(UserPoolId=pool_id, Username=name)
    except Exception as exc:
        if _error_code(exc) == "UserNotFoundException":
            raise UsersError(f"no user named {name!r}") from None
        raise _error(exc) from None


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = getattr(client, operation)(**params, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken") or page.get("PaginationToken")
        if not token:
            return


def list_users(client: Any, pool_id: str, group: str) -> list[tuple[str, str, bool]]:
    """``(name, status, uploader)`` for every user, sorted by name."""
    try:
        users = list(_list_all_users(client, pool_id))
        try:
            members = {
                u["Username"]
                for u in _pages(
                    client, "list_users_in_group", "Users", UserPoolId=pool_id, GroupName=group
                )
            }
        except Exception as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            members = set()  # no uploaders group: nobody may upload
    except UsersError:
        raise
    except Exception as exc:
        raise _error(exc) from None
    rows = []
    for user in users:
        status = user.get("UserStatus", "?")
        if user.get("Enabled") is False:
            status += " (disabled)"
        rows.append((user["Username"], status, user["Username"] in members))
    return sorted(rows)


def _list_all_users(client: Any, pool_id: str) -> Iterator[dict[str, Any]]:
    # ListUsers pages with PaginationToken, not NextToken.
    token: str | None = None
    while True:
        params: dict[str, Any] = {"UserPoolId": pool_id}
        if token:
            params["PaginationToken"] = token
        page = client.list_users(**params)
        yield from page.get("Users", [])
        token = page.get("PaginationToken")
        if not token:
            return


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
    )
    actions = users.add_subparsers(dest="users_command", required=True)

    add = actions.add_parser(
        "add",
        allow_abbrev=False,  # "--password" must not pass for "--password-stdin"
        help="create a user (a reader; --upload makes an uploader)",
        description="Create a user with a permanent password. The password is read from a "
        "prompt, or from one line of stdin with --password-stdin; never from an argument.",
    )
    add.add_argument("name")
    add.add_argument("--upload", action="store_true", help="allow this user to upload")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    _common(add)
    add.set_defaults(func=run_add)

    remove = actions.add_parser("remove", help="delete a user")
    remove.add_argument("name")
    _common(remove)
    remove.set_defaults(func=run_remove)

    listing = actions.add_parser("list", help="list users: name, status, uploader")
    _common(listing)
    listing.set_defaults(func=run_list)


def _run(action: Any) -> int:
    try:
        return int(action())
    except UsersError as exc:
        print(f"serverless-pypi users: {exc}", file=sys.stderr)
        return exc.status


def run_add(args: argparse.Namespace) -> int:
    def action() -> int:
        client = make_client(args.user_pool_id, args.endpoint_url)
        password = read_password(args.password_stdin)
        add_user(
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
        remove_user(make_client(args.user_pool_id, args.endpoint_url), args.user_pool_id, args.name)
        print(f"removed {args.name}")
        return 0

    return _run(action)


def run_list(args: argparse.Namespace) -> int:
    def action() -> int:
        client = make_client(args.user_pool_id, args.endpoint_url)
        rows = list_users(client, args.user_pool_id, args.uploaders_group)
        width = max([len("NAME"), *(len(name) for name, _, _ in rows)])
        status_width = max([len("STATUS"), *(len(status) for _, status, _ in rows)])
        print(f"{'NAME':<{width}}  {'STATUS':<{status_width}}  UPLOADER")
        for name, status, uploader in rows:
            print(f"{name:<{width}}  {status:<{status_width}}  {'yes' if uploader else 'no'}")
        return 0

    return _run(action)
