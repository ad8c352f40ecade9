"""The embedded Cognito of ``serve --auth``: a user pool in moto, and its users on disk.

moto keeps Cognito in memory, and Cognito's API never hands a password back, so users are
persisted from moto's own records. Reading those records is the only use of moto internals here
(``moto_users``); ``tests/test_local_cognito.py`` fails if moto changes them. Users are put back
through the public API (AdminCreateUser, AdminSetUserPassword, AdminAddUserToGroup), so a
restored user is exactly what ``serverless-pypi users add`` would have made.

When: after every cognito-idp request the emulator serves (``UserStore.sync`` is hooked into the
moto server, so a user added with ``serverless-pypi users add`` is on disk before that command
returns), and once more at shutdown. A sync writes only when the users changed, and then also
clears the authorizer's cache: locally, a new user or password counts at once (in AWS a warm
authorizer remembers verdicts for its cache TTLs).

The file (``DATA_DIR/users.json``, mode 0600) holds local-only credentials in plain text: it is
the local server's test users, not a credential store for real ones.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_pypi import config
from serverless_pypi.local.context import ACCOUNT_ID
from serverless_pypi.local.persistence import DataDirError

log = logging.getLogger("serverless_pypi.local")

USERS_FILE = "users.json"
FORMAT = "serverless-pypi-users 1"
POOL_NAME = "serverless-pypi-local"
CLIENT_NAME = "serverless-pypi-authorizer"
#: Cognito's default password policy (moto's differs: 5 characters), so that local mode refuses
#: the passwords a real pool would.
PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
#: Attributes Cognito makes itself; never restored.
GENERATED_ATTRIBUTES = frozenset({"sub"})
CONFIRMED = "CONFIRMED"


@dataclass(frozen=True, slots=True)
class Pool:
    endpoint_url: str
    region: str
    user_pool_id: str
    client_id: str
    uploaders_group: str


def create_pool(client: Any, uploaders_group: str = config.DEFAULT_UPLOADERS_GROUP) -> Pool:
    """A user pool, an app client for USER_PASSWORD_AUTH without a secret, and the group."""
    pool_id = client.create_user_pool(
        PoolName=POOL_NAME,
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=CLIENT_NAME,
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    client.create_group(
        UserPoolId=pool_id, GroupName=uploaders_group, Description="may upload packages"
    )
    return Pool(
        endpoint_url=client.meta.endpoint_url,
        region=client.meta.region_name,
        user_pool_id=pool_id,
        client_id=client_id,
        uploaders_group=uploaders_group,
    )


# -- moto internals ------------------------------------------------------------------------------


def _moto_pool(user_pool_id: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    region = user_pool_id.partition("_")[0]
    preferred = cognitoidp_backends[ACCOUNT_ID][region]
    if user_pool_id in preferred.user_pools:
        return preferred.user_pools[user_pool_id]
    for account in list(cognitoidp_backends.values()):  # another account's credentials
        for backend in list(account.values()):
            pool = backend.user_pools.get(user_pool_id)
            if pool is not None:
                return pool
    return None


def moto_users(user_pool_id: str) -> list[dict[str, Any]]:
    """Every user of the pool as moto holds it, password included, sorted by name."""
    pool = _moto_pool(user_pool_id)
    if pool is None:
        return []
    for _ in range(5):  # moto's request threads may change the dicts while we read them
        try:
            users = []
            for user in list(pool.users.values()):
                status = user.status
                users.append(
                    {
                        "username": user.username,
                        "password": user.password,
                        "status": getattr(status, "value", status),
                        "enabled": bool(user.enabled),
                        "attributes": {
                            a["Name"]: a["Value"]
                            for a in list(user.attributes)
                            if a["Name"] not in GENERATED_ATTRIBUTES
                        },
                        "groups": sorted(g.group_name for g in list(user.groups)),
                    }
                )
            return sorted(users, key=lambda u: u["username"])
        except RuntimeError:  # "changed size during iteration"
            continue
    raise RuntimeError("the user pool kept changing while it was read")


def moto_groups(user_pool_id: str) -> list[str]:
    pool = _moto_pool(user_pool_id)
    return [] if pool is None else sorted(list(pool.groups))


# -- the file ------------------------------------------------------------------------------------


class UsersFileError(DataDirError):
    """``users.json`` exists but cannot be read (the server refuses to start)."""


class UserStore:
    """``DATA_DIR/users.json``: the pool's users, written only when they changed."""

    def __init__(self, root: Path, pool: Pool, client: Any) -> None:
        self.path = root / USERS_FILE
        self.pool = pool
        self.client = client
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self.enabled = False  # no syncing while the users are being restored
        #: Called after a write (the users changed): the local server drops the authorizer's
        #: cached verdicts, so that an added, changed or removed user counts at once.
        self.on_change: list[Callable[[], None]] = []

    # -- reading and restoring --
    def load(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": FORMAT, "groups": [], "users": []}
        except (OSError, ValueError) as exc:
            raise UsersFileError(f"cannot read {self.path}: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise UsersFileError(f"{self.path} holds users in an unknown format")
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)  # tighten a file copied in with looser permissions
        return document

    def restore(self) -> int:
        """Recreate the file's groups and users in the pool; return how many users."""
        document = self.load()
        pool_id = self.pool.user_pool_id
        existing = set(moto_groups(pool_id))
        for group in document.get("groups") or []:
            if isinstance(group, str) and group not in existing:
                with contextlib.suppress(Exception):
                    self.client.create_group(UserPoolId=pool_id, GroupName=group)
        restored = 0
        for user in document.get("users") or []:
            try:
                self._restore_user(user)
            except Exception as exc:
                name = user.get("username") if isinstance(user, dict) else None
                log.warning(
                    "could not restore a user",
                    extra={"username": name, "error": type(exc).__name__},
                )
                continue
            restored += 1
        self._last = self.snapshot()
        self.enabled = True
        return restored

    def _restore_user(self, user: dict[str, Any]) -> None:
        pool_id = self.pool.user_pool_id
        name = user["username"]
        password = user.get("password")
        attributes = [
            {"Name": str(k), "Value": str(v)}
            for k, v in (user.get("attributes") or {}).items()
            if k not in GENERATED_ATTRIBUTES
        ]
        params: dict[str, Any] = {
            "UserPoolId": pool_id,
            "Username": name,
            "MessageAction": "SUPPRESS",
            "UserAttributes": attributes,
        }
        confirmed = user.get("status") == CONFIRMED
        if password and not confirmed:
            params["TemporaryPassword"] = password  # still has to change it, as before
        self.client.admin_create_user(**params)
        if password and confirmed:
            self.client.admin_set_user_password(
                UserPoolId=pool_id, Username=name, Password=password, Permanent=True
            )
        for group in user.get("groups") or []:
            self.client.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=group)
        if user.get("enabled") is False:
            self.client.admin_disable_user(UserPoolId=pool_id, Username=name)

    # -- writing --
    def snapshot(self) -> dict[str, Any]:
        pool_id = self.pool.user_pool_id
        return {"format": FORMAT, "groups": moto_groups(pool_id), "users": moto_users(pool_id)}

    def sync(self) -> bool:
        """Write the file if the users changed since the last write; True if written."""
        if not self.enabled:
            return False
        with self._lock:
            current = self.snapshot()
            if current == self._last:
                return False
            self._write(current)
            self._last = current
        log.info("saved users", extra={"users": len(current["users"])})
        for hook in list(self.on_change):
            hook()
        return True

    def _write(self, document: dict[str, Any]) -> None:
        data = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".tmp")
        try:  # mkstemp creates the file 0600, before any byte is written
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def sync_quietly(self) -> None:
        """For hooks: a failed write is logged, never raised into moto's request."""
        try:
            self.sync()
        except Exception:
            log.exception("could not save users")
