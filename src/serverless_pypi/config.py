"""Configuration from environment variables, parsed once at cold start.

A bad value raises ``ConfigError`` when the handler module is imported, so a misconfigured
deployment fails on its first invocation with a clear message instead of on some later request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

BUCKET = "SERVERLESS_PYPI_BUCKET"
URL_TTL = "SERVERLESS_PYPI_URL_TTL"
FALLBACK_INDEX_URL = "SERVERLESS_PYPI_FALLBACK_INDEX_URL"
UPLOADS = "SERVERLESS_PYPI_UPLOADS"
S3_ENDPOINT_URL = "SERVERLESS_PYPI_S3_ENDPOINT_URL"
LOG_LEVEL = "SERVERLESS_PYPI_LOG_LEVEL"
AUTH = "SERVERLESS_PYPI_AUTH"
# The Cognito authorizer's (``authorizer.py``).
USER_POOL_ID = "SERVERLESS_PYPI_USER_POOL_ID"
CLIENT_ID = "SERVERLESS_PYPI_CLIENT_ID"
UPLOADERS_GROUP = "SERVERLESS_PYPI_UPLOADERS_GROUP"
AUTH_CACHE_TTL = "SERVERLESS_PYPI_AUTH_CACHE_TTL"
COGNITO_ENDPOINT_URL = "SERVERLESS_PYPI_COGNITO_ENDPOINT_URL"

#: Variables each handler reads. The Terraform module must set exactly these (a test checks both
#: sides); ``S3_ENDPOINT_URL`` is for local mode and S3-compatible stores, never set by Terraform.
API_ENV_VARS = frozenset({BUCKET, URL_TTL, FALLBACK_INDEX_URL, UPLOADS, LOG_LEVEL, AUTH})
REINDEX_ENV_VARS = frozenset({BUCKET, LOG_LEVEL})
AUTHORIZER_ENV_VARS = frozenset(
    {USER_POOL_ID, CLIENT_ID, UPLOADERS_GROUP, AUTH_CACHE_TTL, LOG_LEVEL}
)
#: ``COGNITO_ENDPOINT_URL`` points the authorizer at an emulated Cognito (local mode).
LOCAL_ONLY_ENV_VARS = frozenset({S3_ENDPOINT_URL, COGNITO_ENDPOINT_URL})

MIN_URL_TTL = 10
MAX_URL_TTL = 7 * 24 * 3600  # SigV4's limit
DEFAULT_URL_TTL = 900
UPLOAD_MODES = ("off", "authenticated", "unauthenticated-insecure")
#: ``basic``: every request must carry the authorizer's verdict (see ``auth``).
AUTH_MODES = ("none", "basic")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_UPLOADERS_GROUP = "uploaders"
#: Seconds the authorizer remembers a successful authentication (0: never).
DEFAULT_AUTH_CACHE_TTL = 300
MAX_AUTH_CACHE_TTL = 3600
#: Seconds it remembers a failed one (never longer than the positive TTL).
NEGATIVE_AUTH_CACHE_TTL = 30


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    bucket: str
    url_ttl: int = DEFAULT_URL_TTL
    fallback_index_url: str | None = None
    uploads: str = "off"
    auth: str = "none"
    s3_endpoint_url: str | None = None
    region: str = "us-east-1"
    log_level: str = "INFO"


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    bucket = env.get(BUCKET, "").strip()
    if not bucket:
        raise ConfigError(f"{BUCKET} is required")

    raw_ttl = env.get(URL_TTL, "").strip() or str(DEFAULT_URL_TTL)
    try:
        url_ttl = int(raw_ttl)
    except ValueError:
        raise ConfigError(f"{URL_TTL} must be an integer number of seconds") from None
    if not MIN_URL_TTL <= url_ttl <= MAX_URL_TTL:
        raise ConfigError(f"{URL_TTL} must be between {MIN_URL_TTL} and {MAX_URL_TTL}")

    fallback = env.get(FALLBACK_INDEX_URL, "").strip() or None
    if fallback is not None:
        fallback = _http_url(FALLBACK_INDEX_URL, fallback).rstrip("/") + "/"

    uploads = env.get(UPLOADS, "").strip() or "off"
    if uploads not in UPLOAD_MODES:
        raise ConfigError(f"{UPLOADS} must be one of {', '.join(UPLOAD_MODES)}")

    auth = env.get(AUTH, "").strip() or "none"
    if auth not in AUTH_MODES:
        raise ConfigError(f"{AUTH} must be one of {', '.join(AUTH_MODES)}")
    if uploads == "authenticated" and auth != "basic":
        raise ConfigError(f"{UPLOADS}=authenticated needs {AUTH}=basic")

    endpoint = env.get(S3_ENDPOINT_URL, "").strip() or None
    if endpoint is not None:
        endpoint = _http_url(S3_ENDPOINT_URL, endpoint)

    log_level = (env.get(LOG_LEVEL, "").strip() or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"{LOG_LEVEL} must be one of {', '.join(LOG_LEVELS)}")

    return Settings(
        bucket=bucket,
        url_ttl=url_ttl,
        fallback_index_url=fallback,
        uploads=uploads,
        auth=auth,
        s3_endpoint_url=endpoint,
        region=load_region(env),
        log_level=log_level,
    )


def load_region(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
