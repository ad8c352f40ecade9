"""``serve --auth``: the embedded Cognito user pool and the Lambda authorizer bound to it.

The authorizer runs as a warm container would: one client and one verdict cache for the
server's lifetime, each call in its own request scope. Users come back from the data directory,
are saved after every Cognito request, and a change clears the verdict cache (locally a new user
or password counts at once; see ``cognito.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from serverless_pypi import config, logs
from serverless_pypi.local.cognito import Pool, UserStore, create_pool
from serverless_pypi.local.emulator import Emulator

log = logging.getLogger("serverless_pypi.local")


class AuthorizerHandler(Protocol):
    """What the local server calls before the API, and what a user change resets."""

    def handle(self, event: dict[str, Any], context: Any) -> Any: ...

    def clear_cache(self) -> None: ...


#: Makes the authorizer from its environment (the variables Terraform sets on the function).
AuthorizerFactory = Callable[[dict[str, str]], AuthorizerHandler]


class LocalAuthorizer:
    """The authorizer Lambda's handler, settings from the environment it would have."""

    def __init__(self, environ: dict[str, str]) -> None:
        from serverless_pypi.authorizer.app import Authorizer, load_settings

        self._authorizer = Authorizer(load_settings(environ))

    def handle(self, event: dict[str, Any], context: Any) -> Any:
        with logs.request_scope(getattr(context, "aws_request_id", None)):
            return self._authorizer.authorize(event)

    def clear_cache(self) -> None:
        self._authorizer.cache.clear()


@dataclass(frozen=True)
class EmbeddedAuth:
    pool: Pool
    users: UserStore
    authorizer: AuthorizerHandler


def start_auth(
    emulator: Emulator,
    root: Path,
    stops: list[Callable[[], None]],
    authorizer_factory: AuthorizerFactory = LocalAuthorizer,
) -> EmbeddedAuth:
    """Pool, client and group in the emulator; users back from ``root``, saved after every
    change (and once more at stop, registered in ``stops``); the authorizer bound to the pool."""
    pool = create_pool(emulator.cognito)
    users = UserStore(root, pool, emulator.cognito)
    restored = users.restore()
    log.info("restored users from the data directory", extra={"users": restored})
    emulator.after_cognito_requests(users.sync_quietly)
    stops.append(users.sync_quietly)  # runs before the emulator stops
    environ = {
        config.USER_POOL_ID: pool.user_pool_id,
        config.CLIENT_ID: pool.client_id,
        config.UPLOADERS_GROUP: pool.uploaders_group,
        config.COGNITO_ENDPOINT_URL: pool.endpoint_url,
        config.LOG_LEVEL: os.environ.get(config.LOG_LEVEL, ""),
        config.AUTH_CACHE_TTL: os.environ.get(config.AUTH_CACHE_TTL, ""),
    }
    authorizer = authorizer_factory(environ)
    users.on_change.append(authorizer.clear_cache)
    return EmbeddedAuth(pool, users, authorizer)
