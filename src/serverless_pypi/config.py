"""Configuration of the three functions from environment variables, parsed once at cold start.

A bad value raises ``ConfigError`` when a handler first runs, so a misconfigured deployment fails
on its first invocation with a clear message instead of on some later request. Each function has
its loader (``load`` for the API, ``load_reindex``, ``load_authorizer``), built from the same
small readers (``required_string``, ``int_in_range``, ``choice``, ``http_url``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar, get_args
from urllib.parse import urlsplit

BUCKET = "SERVERLESS_PYPI_BUCKET"
URL_TTL = "SERVERLESS_PYPI_URL_TTL"
FALLBACK_INDEX_URL = "SERVERLESS_PYPI_FALLBACK_INDEX_URL"
UPLOADS = "SERVERLESS_PYPI_UPLOADS"
S3_ENDPOINT_URL = "SERVERLESS_PYPI_S3_ENDPOINT_URL"
LOG_LEVEL = "SERVERLESS_PYPI_LOG_LEVEL"
AUTH = "SERVERLESS_PYPI_AUTH"
#: The reindex queue, where a full rebuild sends its batches of projects (issue 15).
QUEUE_URL = "SERVERLESS_PYPI_QUEUE_URL"
# The Cognito authorizer's (``serverless_pypi.authorizer``).
USER_POOL_ID = "SERVERLESS_PYPI_USER_POOL_ID"
CLIENT_ID = "SERVERLESS_PYPI_CLIENT_ID"
UPLOADERS_GROUP = "SERVERLESS_PYPI_UPLOADERS_GROUP"
AUTH_CACHE_TTL = "SERVERLESS_PYPI_AUTH_CACHE_TTL"
COGNITO_ENDPOINT_URL = "SERVERLESS_PYPI_COGNITO_ENDPOINT_URL"

#: Variables each handler reads. The Terraform module must set exactly these (a test checks both
#: sides); ``S3_ENDPOINT_URL`` is for local mode and S3-compatible stores, never set by Terraform.
API_ENV_VARS = frozenset({BUCKET, URL_TTL, FALLBACK_INDEX_URL, UPLOADS, LOG_LEVEL, AUTH})
REINDEX_ENV_VARS = frozenset({BUCKET, LOG_LEVEL, QUEUE_URL})
AUTHORIZER_ENV_VARS = frozenset(
    {USER_POOL_ID, CLIENT_ID, UPLOADERS_GROUP, AUTH_CACHE_TTL, LOG_LEVEL}
)
#: ``COGNITO_ENDPOINT_URL`` points the authorizer at an emulated Cognito (local mode).
LOCAL_ONLY_ENV_VARS = frozenset({S3_ENDPOINT_URL, COGNITO_ENDPOINT_URL})

UploadMode = Literal["off", "authenticated", "unauthenticated-insecure"]
#: ``basic``: every request must carry the authorizer's verdict (see ``api.auth``).
AuthMode = Literal["none", "basic"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
UPLOAD_MODES: tuple[UploadMode, ...] = get_args(UploadMode)
AUTH_MODES: tuple[AuthMode, ...] = get_args(AuthMode)
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)

MIN_URL_TTL = 10
MAX_URL_TTL = 7 * 24 * 3600  # SigV4's limit
DEFAULT_URL_TTL = 900
DEFAULT_REGION = "us-east-1"
DEFAULT_UPLOADERS_GROUP = "uploaders"
#: Seconds the authorizer remembers a successful authentication (0: never).
DEFAULT_AUTH_CACHE_TTL = 300
MAX_AUTH_CACHE_TTL = 3600
#: Seconds it remembers a failed one (never longer than the positive TTL).
NEGATIVE_AUTH_CACHE_TTL = 30

#: A Cognito user pool id starts with its region: ``eu-west-1_AbC123``.
_POOL_ID = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+$")

_Choice = TypeVar("_Choice", bound=str)


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


# -- readers ----------------------------------------------------------------------------------
# Each reads one variable from ``env``; a blank value counts as unset.


def optional_string(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def required_string(env: Mapping[str, str], name: str) -> str:
    value = optional_string(env, name)
    if value is None:
        raise ConfigError(f"{name} is required")
    return value


def int_in_range(env: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    """A whole number of seconds (the only integers configured) between ``low`` and ``high``."""
    raw = optional_string(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer number of seconds") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value


def choice(
    env: Mapping[str, str],
    name: str,
    choices: tuple[_Choice, ...],
    default: _Choice,
    *,
    upper: bool = False,
) -> _Choice:
    """One of ``choices``; ``upper``: compared in upper case (log levels)."""
    raw = optional_string(env, name)
    if raw is None:
        return default
    value = raw.upper() if upper else raw
    for candidate in choices:
        if value == candidate:
            return candidate
    raise ConfigError(f"{name} must be one of {', '.join(choices)}")


def http_url(env: Mapping[str, str], name: str) -> str | None:
    """An absolute http(s) URL, or None when unset."""
    value = optional_string(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def load_region(environ: Mapping[str, str] | None = None) -> str:
    """The AWS region the function runs in (Lambda sets ``AWS_REGION``)."""
    env = _environ(environ)
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def pool_region(user_pool_id: str) -> str | None:
    """The region a user pool id starts with, or None if it is not a pool id."""
    match = _POOL_ID.match(user_pool_id)
    return match.group(1) if match else None


# -- the API and the reindexer ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """The API's settings; the reindexer uses the bucket, endpoint, region and log level."""

    bucket: str
    url_ttl: int = DEFAULT_URL_TTL
    fallback_index_url: str | None = None
    uploads: UploadMode = "off"
    auth: AuthMode = "none"
    s3_endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    log_level: LogLevel = "INFO"
    #: The reindexer only: the queue a full rebuild fans out over (None: rebuild in-process).
    queue_url: str | None = None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The API's settings from ``environ`` (default: the process environment)."""
    env = _environ(environ)
    bucket = required_string(env, BUCKET)
    url_ttl = int_in_range(env, URL_TTL, default=DEFAULT_URL_TTL, low=MIN_URL_TTL, high=MAX_URL_TTL)
    fallback = http_url(env, FALLBACK_INDEX_URL)
    uploads = choice(env, UPLOADS, UPLOAD_MODES, "off")
    auth = choice(env, AUTH, AUTH_MODES, "none")
    if uploads == "authenticated" and auth != "basic":
        raise ConfigError(f"{UPLOADS}=authenticated needs {AUTH}=basic")
    return Settings(
        bucket=bucket,
        url_ttl=url_ttl,
        fallback_index_url=None if fallback is None else fallback.rstrip("/") + "/",
        uploads=uploads,
        auth=auth,
        s3_endpoint_url=http_url(env, S3_ENDPOINT_URL),
        region=load_region(env),
        log_level=choice(env, LOG_LEVEL, LOG_LEVELS, "INFO", upper=True),
    )


def load_reindex(environ: Mapping[str, str] | None = None) -> Settings:
    """The reindexer's settings: only the variables it reads (``REINDEX_ENV_VARS`` and the
    local endpoint); the API's fields keep their defaults, which it never looks at."""
    env = _environ(environ)
    return Settings(
        bucket=required_string(env, BUCKET),
        s3_endpoint_url=http_url(env, S3_ENDPOINT_URL),
        region=load_region(env),
        log_level=choice(env, LOG_LEVEL, LOG_LEVELS, "INFO", upper=True),
        queue_url=optional_string(env, QUEUE_URL),
    )


# -- the authorizer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizerSettings:
    user_pool_id: str
    client_id: str
    uploaders_group: str = DEFAULT_UPLOADERS_GROUP
    cache_ttl: int = DEFAULT_AUTH_CACHE_TTL
    log_level: LogLevel = "INFO"
    cognito_endpoint_url: str | None = None

    @property
    def region(self) -> str:
        """The pool's region, which its id starts with."""
        return pool_region(self.user_pool_id) or load_region()

    @property
    def negative_ttl(self) -> int:
        return min(NEGATIVE_AUTH_CACHE_TTL, self.cache_ttl)


def load_authorizer(environ: Mapping[str, str] | None = None) -> AuthorizerSettings:
    """The authorizer's settings from ``environ`` (default: the process environment)."""
    env = _environ(environ)
    pool = optional_string(env, USER_POOL_ID) or ""
    if pool_region(pool) is None:
        raise ConfigError(f"{USER_POOL_ID} must be a user pool id (REGION_ID)")
    return AuthorizerSettings(
        user_pool_id=pool,
        client_id=required_string(env, CLIENT_ID),
        uploaders_group=optional_string(env, UPLOADERS_GROUP) or DEFAULT_UPLOADERS_GROUP,
        cache_ttl=int_in_range(
            env, AUTH_CACHE_TTL, default=DEFAULT_AUTH_CACHE_TTL, low=0, high=MAX_AUTH_CACHE_TTL
        ),
        log_level=choice(env, LOG_LEVEL, LOG_LEVELS, "INFO", upper=True),
        cognito_endpoint_url=http_url(env, COGNITO_ENDPOINT_URL),
    )
