"""A Cognito user pool's users and uploaders, as ``serverless-pypi users`` manages them.

Failures are the index's domain errors (``serverless_pypi.errors``) with Cognito's own code and
message, never a traceback; the command line turns them into exit codes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from serverless_pypi.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PackageIndexError,
    Refused,
    StoreUnavailable,
)

#: A Cognito user pool id is ``<region>_<id>``; the region comes from there unless configured.
POOL_ID_SEPARATOR = "_"

#: Where the local server's Cognito endpoint is shown.
LOCAL_HINT = "`serverless-pypi serve --auth` prints"
#: Cognito's error codes, by what they mean here; any other is an unavailable user pool.
_MISSING = frozenset({"ResourceNotFoundException", "UserNotFoundException"})
_NOT_ALLOWED = frozenset({"AccessDeniedException", "NotAuthorizedException"})
_TRANSIENT = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "InternalErrorException"}
)


def pool_region(pool_id: str) -> str | None:
    """The region a pool id starts with, or None if it is not ``REGION_ID``."""
    region, sep, rest = pool_id.partition(POOL_ID_SEPARATOR)
    return region if sep and region and rest else None


def make_client(pool_id: str, endpoint_url: str | None) -> Any:
    """A cognito-idp client with the caller's credentials, in the pool's region."""
    import boto3

    region = pool_region(pool_id)
    if region is None:
        raise ValueError(f"not a user pool id: {pool_id!r}")
    return boto3.client("cognito-idp", region_name=region, endpoint_url=endpoint_url)


def _error(exc: Exception) -> PackageIndexError:
    """The domain error for an AWS failure, in one line: Cognito's own code and message."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = f"{code}: {error.get('Message') or exc}"
        if str(code).isdigit():  # an HTTP status without a Cognito error: not Cognito
            return StoreUnavailable(
                f"HTTP {code} from --endpoint-url, which does not answer as Cognito does: "
                f"for the local server it is the `cognito:` URL {LOCAL_HINT}",
                transient=False,
            )
        if code in _MISSING:
            return NotFound(message)
        if code in _NOT_ALLOWED:
            return Forbidden(message)
        return StoreUnavailable(message, transient=code in _TRANSIENT)
    if isinstance(exc, NoCredentialsError):
        return StoreUnavailable(
            f"{exc} (these commands use your AWS credentials; for the local server's pool "
            "any values work, e.g. AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x)",
            transient=False,
        )
    if isinstance(exc, EndpointConnectionError):
        return StoreUnavailable(
            f"{exc}: is it running? For the local server --endpoint-url is the `cognito:` URL "
            f"{LOCAL_HINT}",
            transient=True,
        )
    if isinstance(exc, BotoCoreError):
        return StoreUnavailable(str(exc), transient=True)
    raise exc


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def add_user(
    client: Any, pool_id: str, name: str, password: str, *, uploader: bool, group: str
) -> None:
    """Create a confirmed user with a permanent password (no invitation message is sent);
    nothing is left behind if the password is refused."""
    try:
        client.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    except Exception as exc:
        if _error_code(exc) == "UsernameExistsException":
            raise Conflict(f"user {name!r} already exists") from None
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
            raise Refused(f"password refused by the user pool: {message}") from None
        raise _error(exc) from None


def remove_user(client: Any, pool_id: str, name: str) -> None:
    try:
        client.admin_delete_user(UserPoolId=pool_id, Username=name)
    except Exception as exc:
        if _error_code(exc) == "UserNotFoundException":
            raise NotFound(f"no user named {name!r}") from None
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
    except Exception as exc:
        raise _error(exc) from None
    rows = []
    for user in users:
        status = user.get("UserStatus", "?")
        if user.get("Enabled") is False:
            status += " (disabled)"
        rows.append((user["Username"], status, user["Username"] in members))
    return sorted(rows)


def user_groups(client: Any, pool_id: str) -> dict[str, list[str]]:
    """Each user's groups (one request per group, not per user), names sorted."""
    found: dict[str, list[str]] = {}
    try:
        for group in _pages(client, "list_groups", "Groups", UserPoolId=pool_id):
            name = group["GroupName"]
            for user in _pages(
                client, "list_users_in_group", "Users", UserPoolId=pool_id, GroupName=name
            ):
                found.setdefault(user["Username"], []).append(name)
    except Exception as exc:
        raise _error(exc) from None
    return {user: sorted(groups) for user, groups in found.items()}


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
