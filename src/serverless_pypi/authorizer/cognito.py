"""Signing in to the Cognito user pool with a username and password (``InitiateAuth``).

Cognito's answers become a ``SignIn``: the verdict, a reason for the log, and whether the
verdict may be remembered. Wrong credentials are remembered (briefly); outages, throttling and
odd answers are not, so the next request asks again.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

from serverless_pypi.authorizer.basic import Credentials
from serverless_pypi.authorizer.verdicts import UNAUTHENTICATED, Verdict
from serverless_pypi.config import AuthorizerSettings

log = logging.getLogger(__name__)

#: Cognito's answers that mean "these credentials do not authenticate": remembered briefly.
CREDENTIAL_ERRORS = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
    }
)
#: Loggers that would write request bodies (the password) at DEBUG.
SDK_LOGGERS = ("botocore", "urllib3")


@dataclass(frozen=True, slots=True)
class SignIn:
    verdict: Verdict
    reason: str  # for the log: an outcome or Cognito's error code, never a secret
    remember: bool


def make_client(settings: AuthorizerSettings) -> Any:
    """A cognito-idp client with short timeouts: API Gateway waits 10 s for an authorizer, so
    two attempts of at most 1 + 3 s (plus backoff) end in time for a clean "unauthenticated".

    botocore directly (not boto3) for a small cold start. ``InitiateAuth`` is an unsigned
    operation, so the function's role needs no Cognito permission.
    """
    from botocore.config import Config
    from botocore.session import get_session

    client_config = Config(
        retries={"mode": "standard", "max_attempts": 2},
        connect_timeout=1,
        read_timeout=3,
    )
    return get_session().create_client(
        "cognito-idp",
        region_name=settings.region,
        endpoint_url=settings.cognito_endpoint_url,
        config=client_config,
    )


def quiet_sdk_logs() -> None:
    """Raise the SDK's loggers to WARNING if anything let them log at DEBUG or INFO."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def sign_in(client: Any, settings: AuthorizerSettings, credentials: Credentials) -> SignIn:
    """Ask Cognito whether ``credentials`` sign in, and whether the user is an uploader."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.initiate_auth(
            ClientId=settings.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": credentials.username, "PASSWORD": credentials.password},
        )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        if code in CREDENTIAL_ERRORS:
            return SignIn(UNAUTHENTICATED, code, remember=True)
        # Throttling, an outage, a misconfigured app client: not the caller's fault.
        log.warning("cognito error", extra={"error_code": code})
        return SignIn(UNAUTHENTICATED, f"cognito error {code}", remember=False)
    except BotoCoreError as exc:
        log.warning("cognito unreachable", extra={"error": type(exc).__name__})
        return SignIn(UNAUTHENTICATED, "cognito unreachable", remember=False)
    if answer.get("ChallengeName"):
        # NEW_PASSWORD_REQUIRED, MFA, ...: the password alone does not sign this user in.
        return SignIn(UNAUTHENTICATED, f"challenge {answer['ChallengeName']}", remember=True)
    tokens = answer.get("AuthenticationResult") or {}
    claims = id_token_claims(tokens.get("IdToken") or "")
    if not claims:
        log.warning("cognito answered without an id token")
        return SignIn(UNAUTHENTICATED, "no id token", remember=False)
    groups = claims.get("cognito:groups") or []
    username = claims.get("cognito:username")
    if not isinstance(username, str) or not username:
        username = credentials.username
    if not isinstance(groups, list):
        groups = []
    names = tuple(group for group in groups if isinstance(group, str))
    uploader = settings.uploaders_group in names
    return SignIn(Verdict(True, username, uploader, names), "authenticated", remember=True)


def id_token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, without checking its signature.

    The token comes straight from Cognito's InitiateAuth response over TLS, in answer to this
    function's own request; nobody else handled it, so there is nothing to verify it against.
    """
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}
