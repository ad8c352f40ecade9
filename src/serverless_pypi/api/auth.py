"""What the API Lambda concludes from the authorizer's verdict.

API Gateway answers 401 without ``WWW-Authenticate`` when an identity source is missing, and 403
when a simple-response authorizer denies; neither can be changed, and pip's netrc/keyring flow
and browsers need a proper 401 challenge. So the authorizer never denies: it always allows, and
passes its verdict as context (``authenticated``, ``username``, ``uploader``, ``groups`` as a
JSON list in a string). This module turns
that verdict into 401 (with the challenge) or 403, and trusts nothing but the context API Gateway
attaches: the request's own headers are never read here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from serverless_pypi.api.gateway import HttpError

if TYPE_CHECKING:
    from serverless_pypi.publishing.rights import Grant, Permissions

REALM = "serverless-pypi"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}


@dataclass(frozen=True, slots=True)
class Identity:
    username: str
    uploader: bool
    groups: tuple[str, ...] = ()


def _flag(value: Any) -> bool:
    """Context values arrive as JSON values or, through some paths, as strings."""
    return value is True or value == "true"


def identity(authorizer: Mapping[str, Any]) -> Identity | None:
    """The caller the Lambda authorizer vouched for, if any (payload 2.0:
    ``requestContext.authorizer.lambda``)."""
    context = authorizer.get("lambda")
    if not isinstance(context, Mapping) or not _flag(context.get("authenticated")):
        return None
    username = context.get("username")
    if not isinstance(username, str) or not username:
        return None
    return Identity(
        username=username,
        uploader=_flag(context.get("uploader")),
        groups=_groups(context.get("groups")),
    )


def _groups(value: Any) -> tuple[str, ...]:
    """Context values are flat, so the groups arrive as a JSON list in a string."""
    try:
        groups = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return ()
    if not isinstance(groups, list):
        return ()
    return tuple(group for group in groups if isinstance(group, str))


def require_reader(authorizer: Mapping[str, Any]) -> Identity:
    if not isinstance(authorizer.get("lambda"), Mapping):
        # The authorizer always attaches a verdict; none means it is not on this route.
        raise HttpError(403, "Refused: authentication is required but no authorizer ran.")
    found = identity(authorizer)
    if found is None:
        if _flag(authorizer["lambda"].get("upload_token")):
            raise HttpError(
                401,
                "Upload tokens (user __token__) may only upload; reading needs a user.",
                CHALLENGE,
            )
        raise HttpError(401, "Authentication required.", CHALLENGE)
    return found


def require_uploader(authorizer: Mapping[str, Any], permissions: Permissions = ()) -> Grant:
    """What the user may upload: every project (the uploaders group), the globs their groups
    map to (``upload_permissions``), or nothing (403)."""
    from serverless_pypi.publishing.rights import Grant, group_globs  # uploads only

    found = require_reader(authorizer)
    if found.uploader:
        return Grant(f"User {found.username!r}", None, found.username)
    globs = group_globs(found.groups, permissions)
    if not globs:
        raise HttpError(403, f"User {found.username!r} may read but not upload.")
    return Grant(f"User {found.username!r}", globs, found.username)
