"""The API Gateway Lambda authorizer: HTTP Basic credentials checked against a Cognito user pool.

A REQUEST authorizer, payload format 2.0, simple responses, with no identity source (so that
requests without credentials reach it too). It never denies: it always answers

    {"isAuthorized": true,
     "context": {"authenticated": <bool>, "username": <str, "" if none>, "uploader": <bool>}}

and the API Lambda (``auth.py``) turns that verdict into 401 with a ``Basic`` challenge or 403.
API Gateway's own answers (401 without ``WWW-Authenticate``, 403 on deny) cannot be customized;
``docs/auth.md`` explains the arrangement.

Without an identity source API Gateway cannot cache results, so this module bounds the calls to
Cognito itself: verdicts are remembered per container, keyed by a keyed hash of the
``Authorization`` value (the header and the password are never stored), successes for
``SERVERLESS_PYPI_AUTH_CACHE_TTL`` seconds and failures for a shorter time. Cognito outages and
throttling are failures that are not remembered.

Never logged: the header, the password, the tokens. Logged on every path alike: the username
(when one was decoded) and the outcome.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from serverless_pypi import config, logs

log = logging.getLogger(__name__)

#: Longest ``Authorization`` value looked at; Cognito's own limits are 128 and 256 below.
MAX_HEADER_LENGTH = 1024
MAX_USERNAME_LENGTH = 128
MAX_PASSWORD_LENGTH = 256
#: Entries per cache (successes and failures are kept apart, so a flood of bad credentials
#: cannot push out the good ones).
CACHE_SIZE = 10_000

#: Cognito's answers that mean "these credentials do not authenticate": remembered briefly.
CREDENTIAL_ERRORS = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_POOL_ID = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+$")


@dataclass(frozen=True, slots=True)
class AuthorizerSettings:
    user_pool_id: str
    client_id: str
    uploaders_group: str = config.DEFAULT_UPLOADERS_GROUP
    cache_ttl: int = config.DEFAULT_AUTH_CACHE_TTL
    log_level: str = "INFO"
    cognito_endpoint_url: str | None = None

    @property
    def region(self) -> str:
        """A pool id starts with its region (``eu-west-1_AbC123``)."""
        match = _POOL_ID.match(self.user_pool_id)
        return match.group(1) if match else config.load_region()

    @property
    def negative_ttl(self) -> int:
        return min(config.NEGATIVE_AUTH_CACHE_TTL, self.cache_ttl)


def load_settings(environ: Mapping[str, str] | None = None) -> AuthorizerSettings:
    """Read the authorizer's settings; raises ``config.ConfigError`` on a bad value."""
    env = os.environ if environ is None else environ
    pool = env.get(config.USER_POOL_ID, "").strip()
    if not _POOL_ID.match(pool):
        raise config.ConfigError(f"{config.USER_POOL_ID} must be a user pool id (REGION_ID)")
    client_id = env.get(config.CLIENT_ID, "").strip()
    if not client_id:
        raise config.ConfigError(f"{config.CLIENT_ID} is required")
    group = env.get(config.UPLOADERS_GROUP, "").strip() or config.DEFAULT_UPLOADERS_GROUP
    raw_ttl = env.get(config.AUTH_CACHE_TTL, "").strip() or str(config.DEFAULT_AUTH_CACHE_TTL)
    try:
        ttl = int(raw_ttl)
    except ValueError:
        raise config.ConfigError(
            f"{config.AUTH_CACHE_TTL} must be an integer number of seconds"
        ) from None
    if not 0 <= ttl <= config.MAX_AUTH_CACHE_TTL:
        raise config.ConfigError(
            f"{config.AUTH_CACHE_TTL} must be between 0 and {config.MAX_AUTH_CACHE_TTL}"
        )
    log_level = (env.get(config.LOG_LEVEL, "").strip() or "INFO").upper()
    if log_level not in config.LOG_LEVELS:
        raise config.ConfigError(
            f"{config.LOG_LEVEL} must be one of {', '.join(config.LOG_LEVELS)}"
        )
    endpoint = env.get(config.COGNITO_ENDPOINT_URL, "").strip() or None
    if endpoint is not None:
        endpoint = config._http_url(config.COGNITO_ENDPOINT_URL, endpoint)
    return AuthorizerSettings(
        user_pool_id=pool,
        client_id=client_id,
        uploaders_group=group,
        cache_ttl=ttl,
        log_level=log_level,
        cognito_endpoint_url=endpoint,
    )


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


# --- Decoding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print the password, even in a traceback or a debugger
        return f"Credentials(username={self.username!r})"


def header_value(event: Any) -> str | None:
    """The ``Authorization`` value of a payload-2.0 event (names arrive lower-cased; other
    spellings are looked for too, for hand-made events)."""
    headers = event.get("headers") if isinstance(event, Mapping) else None
    if not isinstance(headers, Mapping):
        return None
    value = headers.get("authorization")
    if value is None:
        for name, candidate in headers.items():
            if isinstance(name, str) and name.lower() == "authorization":
                value = candidate
                break
    return value if isinstance(value, str) else None


def decode_basic(value: str | None) -> Credentials | None:
    """Strictly decode ``Basic <base64(user:password)>``; anything else is ``None``.

    Scheme case-insensitive; the base64 must be canonical (alphabet and padding); the text
    must be UTF-8 without control characters; user and password non-empty and within
    Cognito's limits.
    """
    if not value or len(value) > MAX_HEADER_LENGTH:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "basic" or not token:
        return None
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeError is a ValueError
        return None
    username, colon, password = text.partition(":")
    if not colon or not username or not password:
        return None
    if len(username) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        return None
    if _CONTROL.search(username):
        return None
    return Credentials(username, password)


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


# --- Verdicts and the cache -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    authenticated: bool
    username: str = ""
    uploader: bool = False

    def response(self) -> dict[str, Any]:
        context = {
            "authenticated": self.authenticated,
            "username": self.username if self.authenticated else "",
            "uploader": self.authenticated and self.uploader,
        }
        return {"isAuthorized": True, "context": context}


UNAUTHENTICATED = Verdict(authenticated=False)


class VerdictCache:
    """Verdicts by keyed hash of the header, with expiry and an LRU bound; thread-safe (the
    local server calls the authorizer from several threads)."""

    def __init__(self, size: int = CACHE_SIZE, clock: Callable[[], float] = time.monotonic):
        self.size = size
        self.clock = clock
        # A per-container secret: the keys in memory cannot be brute-forced offline.
        self._secret = secrets.token_bytes(32)
        self._entries: dict[bool, OrderedDict[bytes, tuple[float, Verdict]]] = {
            True: OrderedDict(),
            False: OrderedDict(),
        }
        self._lock = threading.Lock()

    def key(self, header: str) -> bytes:
        return hmac.new(
            self._secret, header.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()

    def get(self, key: bytes) -> Verdict | None:
        now = self.clock()
        with self._lock:
            for entries in self._entries.values():
                found = entries.get(key)
                if found is None:
                    continue
                expires, verdict = found
                if expires <= now:
                    del entries[key]
                    return None
                entries.move_to_end(key)
                return verdict
        return None

    def put(self, key: bytes, verdict: Verdict, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            entries = self._entries[verdict.authenticated]
            entries[key] = (self.clock() + ttl, verdict)
            entries.move_to_end(key)
            while len(entries) > self.size:
                entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._entries.values())

    def clear(self) -> None:
        with self._lock:
            for entries in self._entries.values():
                entries.clear()


# --- The authorizer -------------------------------------------------------------------------


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
        # botocore logs request bodies (the password) at DEBUG; never let them through.
        for noisy in ("botocore", "urllib3"):
            if logging.getLogger(noisy).getEffectiveLevel() < logging.WARNING:
                logging.getLogger(noisy).setLevel(logging.WARNING)

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
        credentials = decode_basic(header)
        if credentials is None:
            self._log(None, "malformed credentials", UNAUTHENTICATED)
            return UNAUTHENTICATED
        key = self.cache.key(header)
        cached = self.cache.get(key)
        if cached is not None:
            self._log(credentials.username, "cached", cached)
            return cached
        verdict, reason, remember = self._authenticate(credentials)
        if remember:
            ttl = self.settings.cache_ttl if verdict.authenticated else self.settings.negative_ttl
            self.cache.put(key, verdict, ttl)
        self._log(credentials.username, reason, verdict)
        return verdict

    def _authenticate(self, credentials: Credentials) -> tuple[Verdict, str, bool]:
        """(verdict, reason for the log, whether to remember it)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.initiate_auth(
                ClientId=self.settings.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": credentials.username, "PASSWORD": credentials.password},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code in CREDENTIAL_ERRORS:
                return UNAUTHENTICATED, code, True
            # Throttling, an outage, a misconfigured app client: not the caller's fault, and
            # not remembered, so the next request tries again.
            log.warning("cognito error", extra={"error_code": code})
            return UNAUTHENTICATED, f"cognito error {code}", False
        except BotoCoreError as exc:
            log.warning("cognito unreachable", extra={"error": type(exc).__name__})
            return UNAUTHENTICATED, "cognito unreachable", False
        if answer.get("ChallengeName"):
            # NEW_PASSWORD_REQUIRED, MFA, ...: the password alone does not sign this user in.
            return UNAUTHENTICATED, f"challenge {answer['ChallengeName']}", True
        tokens = answer.get("AuthenticationResult") or {}
        claims = id_token_claims(tokens.get("IdToken") or "")
        if not claims:
            log.warning("cognito answered without an id token")
            return UNAUTHENTICATED, "no id token", False
        groups = claims.get("cognito:groups") or []
        username = claims.get("cognito:username")
        if not isinstance(username, str) or not username:
            username = credentials.username
        uploader = isinstance(groups, list) and self.settings.uploaders_group in groups
        return Verdict(True, username, uploader), "authenticated", True

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


_authorizer: Authorizer | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point; settings, the Cognito client and the cache live per container."""
    global _authorizer
    if _authorizer is None:
        settings = load_settings()
        logs.setup(settings.log_level)
        _authorizer = Authorizer(settings)
    request_id = getattr(context, "aws_request_id", None)
    token = logs.request_id.set(str(request_id) if request_id else None)
    try:
        return _authorizer.authorize(event)
    finally:
        logs.request_id.reset(token)
