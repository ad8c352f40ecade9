"""The API Gateway Lambda authorizer: HTTP Basic credentials checked against a Cognito user pool.

A REQUEST authorizer, payload format 2.0, simple responses, with no identity source (so that
requests without credentials reach it too). It never denies: it always answers

    {"isAuthorized": true,
     "context": {"authenticated": <bool>, "username": <str, "" if none>, "uploader": <bool>}}

and the API Lambda (``api.auth``) turns that verdict into 401 with a ``Basic`` challenge or 403.
API Gateway's own answers (401 without ``WWW-Authenticate``, 403 on deny) cannot be customized;
``docs/auth.md`` explains the arrangement.

Verdicts are remembered per container (``verdicts``): successes for
``SERVERLESS_PYPI_AUTH_CACHE_TTL`` seconds and failures for a shorter time. Cognito outages and
throttling are failures that are not remembered (``cognito``).

Never logged: the header, the password, the tokens. Logged on every path alike: the username
(when one was decoded) and the outcome.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from serverless_pypi import config, logs
from serverless_pypi.authorizer.basic import decode_basic, header_value
from serverless_pypi.authorizer.cognito import make_client, quiet_sdk_logs, sign_in
from serverless_pypi.authorizer.verdicts import (
    UNAUTHENTICATED,
    UPLOAD_TOKEN,
    Verdict,
    VerdictCache,
)
from serverless_pypi.config import AuthorizerSettings
from serverless_pypi.publishing.tokens import USERNAME, token_password

#: ``local.serve`` builds its authorizer from these two names.
load_settings = config.load_authorizer

log = logging.getLogger(__name__)


class Authorizer:
    """Authenticates one request's Basic credentials; see the module docstring."""

    def __init__(
        self,
        settings: AuthorizerSettings,
        client: Any = None,
        cache: VerdictCache | None = None,
    ) -> None:
        self.settings = settings
        self.client = client if client is not None else make_client(settings)
        self.cache = cache if cache is not None else VerdictCache()
        quiet_sdk_logs()  # botocore logs request bodies (the password) at DEBUG

    def authorize(self, event: Any) -> dict[str, Any]:
        """The simple response for ``event``: always ``isAuthorized``, with the verdict.

        Never raises: an unexpected error is "unauthenticated" (the API then answers 401),
        the same in Lambda and in local mode, which both call this.
        """
        try:
            return self.verdict(event).response()
        except Exception:
            log.exception("authorizer error")
            return UNAUTHENTICATED.response()

    def verdict(self, event: Any) -> Verdict:
        header = header_value(event)
        if header is None:
            self._log(None, "no credentials", UNAUTHENTICATED)
            return UNAUTHENTICATED
        if token_password(header) is not None:
            # An upload token is not a Cognito password: never sent there, checked by the API.
            self._log(USERNAME, "upload token (checked by the API)", UPLOAD_TOKEN)
            return UPLOAD_TOKEN
        credentials = decode_basic(header)
        if credentials is None:
            self._log(None, "malformed credentials", UNAUTHENTICATED)
            return UNAUTHENTICATED
        key = self.cache.key(header)
        cached = self.cache.get(key)
        if cached is not None:
            self._log(credentials.username, "cached", cached)
            return cached
        outcome = sign_in(self.client, self.settings, credentials)
        if outcome.remember:
            verdict = outcome.verdict
            ttl = self.settings.cache_ttl if verdict.authenticated else self.settings.negative_ttl
            self.cache.put(key, verdict, ttl)
        self._log(credentials.username, outcome.reason, outcome.verdict)
        return outcome.verdict

    def _log(self, username: str | None, reason: str, verdict: Verdict) -> None:
        log.info(
            "authentication",
            extra={
                "username": username,
                "authenticated": verdict.authenticated,
                "uploader": verdict.uploader,
                "reason": reason,
            },
        )


@functools.cache
def _container_authorizer() -> Authorizer:
    """Settings, the Cognito client and the verdict cache, made once per container."""
    settings = config.load_authorizer()
    logs.setup(settings.log_level)
    return Authorizer(settings)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    authorizer = _container_authorizer()
    with logs.request_scope(getattr(context, "aws_request_id", None)):
        return authorizer.authorize(event)
