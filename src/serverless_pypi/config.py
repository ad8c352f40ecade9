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
from typing import TYPE_CHECKING, Literal, TypeVar, get_args
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from serverless_pypi.publishing.publishers import Publisher

BUCKET = "SERVERLESS_PYPI_BUCKET"
URL_TTL = "SERVERLESS_PYPI_URL_TTL"
FALLBACK_INDEX_URL = "SERVERLESS_PYPI_FALLBACK_INDEX_URL"
UPLOADS = "SERVERLESS_PYPI_UPLOADS"
S3_ENDPOINT_URL = "SERVERLESS_PYPI_S3_ENDPOINT_URL"
LOG_LEVEL = "SERVERLESS_PYPI_LOG_LEVEL"
AUTH = "SERVERLESS_PYPI_AUTH"
# The upstream proxy's (``serverless_pypi.upstream``).
UPSTREAM_INDEX_URL = "SERVERLESS_PYPI_UPSTREAM_INDEX_URL"
UPSTREAM_BLOCK = "SERVERLESS_PYPI_UPSTREAM_BLOCK"
UPSTREAM_MIN_AGE = "SERVERLESS_PYPI_UPSTREAM_MIN_AGE"
UPSTREAM_PAGE_TTL = "SERVERLESS_PYPI_UPSTREAM_PAGE_TTL"
#: The function the API invokes (asynchronously) to copy an upstream file into the bucket;
#: unset: the copy runs in a thread of this process (local mode).
UPSTREAM_COPY_FUNCTION = "SERVERLESS_PYPI_UPSTREAM_COPY_FUNCTION"
#: The reindex queue, where a full rebuild sends its batches of projects (issue 15).
QUEUE_URL = "SERVERLESS_PYPI_QUEUE_URL"
#: Hosts whose images a rendered long description may show (comma-separated; none by default).
WEB_IMAGE_HOSTS = "SERVERLESS_PYPI_WEB_IMAGE_HOSTS"
# The Cognito authorizer's (``serverless_pypi.authorizer``).
USER_POOL_ID = "SERVERLESS_PYPI_USER_POOL_ID"
CLIENT_ID = "SERVERLESS_PYPI_CLIENT_ID"
UPLOADERS_GROUP = "SERVERLESS_PYPI_UPLOADERS_GROUP"
AUTH_CACHE_TTL = "SERVERLESS_PYPI_AUTH_CACHE_TTL"
COGNITO_ENDPOINT_URL = "SERVERLESS_PYPI_COGNITO_ENDPOINT_URL"
# Trusted publishing and per-project upload rights (``serverless_pypi.publishing``).
TRUSTED_PUBLISHERS = "SERVERLESS_PYPI_TRUSTED_PUBLISHERS"
OIDC_AUDIENCE = "SERVERLESS_PYPI_OIDC_AUDIENCE"
UPLOAD_TOKEN_KEY_ID = "SERVERLESS_PYPI_UPLOAD_TOKEN_KEY_ID"  # noqa: S105 (a name)
UPLOAD_TOKEN_TTL = "SERVERLESS_PYPI_UPLOAD_TOKEN_TTL"  # noqa: S105 (a name)
UPLOAD_PERMISSIONS = "SERVERLESS_PYPI_UPLOAD_PERMISSIONS"
KMS_ENDPOINT_URL = "SERVERLESS_PYPI_KMS_ENDPOINT_URL"
OIDC_ALLOW_LOOPBACK_HTTP = "SERVERLESS_PYPI_OIDC_ALLOW_LOOPBACK_HTTP"

#: Variables each handler reads. The Terraform module must set exactly these (a test checks both
#: sides); ``S3_ENDPOINT_URL`` is for local mode and S3-compatible stores, never set by Terraform.
API_ENV_VARS = frozenset(
    {BUCKET, URL_TTL, FALLBACK_INDEX_URL, UPLOADS, LOG_LEVEL, AUTH}
    | {UPSTREAM_INDEX_URL, UPSTREAM_BLOCK, UPSTREAM_MIN_AGE, UPSTREAM_PAGE_TTL}
    | {UPSTREAM_COPY_FUNCTION}
    | {TRUSTED_PUBLISHERS, OIDC_AUDIENCE, UPLOAD_TOKEN_KEY_ID, UPLOAD_TOKEN_TTL}
    | {UPLOAD_PERMISSIONS}
)
REINDEX_ENV_VARS = frozenset(
    {BUCKET, LOG_LEVEL, QUEUE_URL, WEB_IMAGE_HOSTS, UPSTREAM_INDEX_URL, UPSTREAM_MIN_AGE}
)
#: The upstream copy function reads the bucket and the upstream's address (file URLs must be
#: on its scheme).
UPSTREAM_COPY_ENV_VARS = frozenset({BUCKET, LOG_LEVEL, UPSTREAM_INDEX_URL})
AUTHORIZER_ENV_VARS = frozenset(
    {USER_POOL_ID, CLIENT_ID, UPLOADERS_GROUP, AUTH_CACHE_TTL, LOG_LEVEL}
)
#: ``COGNITO_ENDPOINT_URL`` points the authorizer at an emulated Cognito (local mode).
#: ``KMS_ENDPOINT_URL`` and ``OIDC_ALLOW_LOOPBACK_HTTP`` (http issuers on loopback) likewise.
LOCAL_ONLY_ENV_VARS = frozenset(
    {S3_ENDPOINT_URL, COGNITO_ENDPOINT_URL, KMS_ENDPOINT_URL, OIDC_ALLOW_LOOPBACK_HTTP}
)

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
#: Lifetime of a minted upload token (PyPI's is 15 minutes).
DEFAULT_UPLOAD_TOKEN_TTL = 900
MIN_UPLOAD_TOKEN_TTL = 10
MAX_UPLOAD_TOKEN_TTL = 3600

#: Upstream pages are kept this long before the upstream is asked again (10 minutes).
DEFAULT_UPSTREAM_PAGE_TTL = 600
MAX_UPSTREAM_PAGE_TTL = 7 * 24 * 3600
MAX_UPSTREAM_MIN_AGE = 365 * 24 * 3600
MAX_UPSTREAM_BLOCK = 200
_DURATION = re.compile(r"^(\d{1,9})([smhd]?)$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: A block glob, over normalized names: lowercase letters, digits, "-", and fnmatch's ``*?[]!``.
_BLOCK_GLOB = re.compile(r"^[a-z0-9*?\[\]!-]{1,200}$")
_NAME_SEPARATORS = re.compile(r"[-_.]+")

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


def parse_duration(raw: str) -> int | None:
    """``72h``, ``7d``, ``30m``, ``90s`` or a bare number of seconds; None if malformed."""
    match = _DURATION.match(raw.strip().lower())
    if match is None:
        return None
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def duration(env: Mapping[str, str], name: str, *, default: int, high: int) -> int:
    """A duration (see ``parse_duration``) between 0 and ``high`` seconds."""
    raw = optional_string(env, name)
    if raw is None:
        return default
    value = parse_duration(raw)
    if value is None:
        raise ConfigError(f"{name} must be a duration such as 90s, 10m, 72h or 7d, got {raw!r}")
    if value > high:
        raise ConfigError(f"{name} must be at most {high} seconds")
    return value


def block_glob(raw: str) -> str | None:
    """A block-list glob over normalized names (``Acme_*`` is ``acme-*``); None if invalid."""
    glob = _NAME_SEPARATORS.sub("-", raw.strip().lower())
    return glob if _BLOCK_GLOB.match(glob) else None


def block_globs(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma- or whitespace-separated globs (see ``block_glob``)."""
    raw = [g for g in re.split(r"[\s,]+", optional_string(env, name) or "") if g]
    if len(raw) > MAX_UPSTREAM_BLOCK:
        raise ConfigError(f"{name} holds at most {MAX_UPSTREAM_BLOCK} globs")
    globs = []
    for item in raw:
        glob = block_glob(item)
        if glob is None:
            raise ConfigError(
                f"{name}: {item!r} is not a glob over project names "
                "(letters, digits, '-', '_', '.', and * ? [ ] !)"
            )
        globs.append(glob)
    return tuple(globs)


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
    #: The upstream proxy (``serverless_pypi.upstream``): off when the URL is None.
    upstream_index_url: str | None = None
    upstream_block: tuple[str, ...] = ()
    #: Seconds an upstream file must have been public before it is shown; 0: no cooldown.
    upstream_min_age: int = 0
    upstream_page_ttl: int = DEFAULT_UPSTREAM_PAGE_TTL
    upstream_copy_function: str | None = None
    trusted_publishers: tuple[Publisher, ...] = ()
    oidc_audience: str = ""
    upload_token_key_id: str | None = None
    upload_token_ttl: int = DEFAULT_UPLOAD_TOKEN_TTL
    #: Cognito group → project globs (the uploaders group means every project).
    upload_permissions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    kms_endpoint_url: str | None = None
    oidc_allow_loopback_http: bool = False
    #: The reindexer only: the queue a full rebuild fans out over (None: rebuild in-process).
    queue_url: str | None = None
    #: The reindexer only: hosts whose images the web pages' descriptions may show.
    web_image_hosts: tuple[str, ...] = ()


def _index_url(url: str | None) -> str | None:
    return None if url is None else url.rstrip("/") + "/"


def _publishing(env: Mapping[str, str]) -> dict[str, object]:
    """The trusted-publishing settings; a bad entry is a ``ConfigError`` naming it. The parser
    loads only when something is configured (nothing new on a plain deployment's cold start)."""
    allow_http = optional_string(env, OIDC_ALLOW_LOOPBACK_HTTP) == "true"
    raw_publishers = optional_string(env, TRUSTED_PUBLISHERS)
    raw_permissions = optional_string(env, UPLOAD_PERMISSIONS)
    publishers: tuple[Publisher, ...] = ()
    permissions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if raw_publishers not in (None, "[]") or raw_permissions not in (None, "{}"):
        from serverless_pypi.publishing import publishers as parse

        try:
            publishers = parse.parse_publishers(
                raw_publishers or "[]", allow_loopback_http=allow_http
            )
            permissions = parse.parse_permissions(raw_permissions or "{}")
        except parse.PublisherConfigError as exc:
            raise ConfigError(str(exc)) from None
    audience = optional_string(env, OIDC_AUDIENCE) or ""
    key_id = optional_string(env, UPLOAD_TOKEN_KEY_ID)
    if publishers and (not audience or not key_id):
        raise ConfigError(f"{TRUSTED_PUBLISHERS} needs {OIDC_AUDIENCE} and {UPLOAD_TOKEN_KEY_ID}")
    return {
        "trusted_publishers": publishers,
        "oidc_audience": audience,
        "upload_token_key_id": key_id,
        "upload_token_ttl": int_in_range(
            env,
            UPLOAD_TOKEN_TTL,
            default=DEFAULT_UPLOAD_TOKEN_TTL,
            low=MIN_UPLOAD_TOKEN_TTL,
            high=MAX_UPLOAD_TOKEN_TTL,
        ),
        "upload_permissions": permissions,
        "kms_endpoint_url": http_url(env, KMS_ENDPOINT_URL),
        "oidc_allow_loopback_http": allow_http,
    }


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
    upstream = http_url(env, UPSTREAM_INDEX_URL)
    if upstream is not None and fallback is not None:
        raise ConfigError(
            f"{UPSTREAM_INDEX_URL} and {FALLBACK_INDEX_URL} are both set: the upstream proxy "
            "replaces the fallback redirect; set only one"
        )
    return Settings(
        bucket=bucket,
        url_ttl=url_ttl,
        fallback_index_url=_index_url(fallback),
        uploads=uploads,
        auth=auth,
        s3_endpoint_url=http_url(env, S3_ENDPOINT_URL),
        region=load_region(env),
        log_level=choice(env, LOG_LEVEL, LOG_LEVELS, "INFO", upper=True),
        upstream_index_url=_index_url(upstream),
        upstream_block=block_globs(env, UPSTREAM_BLOCK),
        upstream_min_age=duration(env, UPSTREAM_MIN_AGE, default=0, high=MAX_UPSTREAM_MIN_AGE),
        upstream_page_ttl=duration(
            env, UPSTREAM_PAGE_TTL, default=DEFAULT_UPSTREAM_PAGE_TTL, high=MAX_UPSTREAM_PAGE_TTL
        ),
        upstream_copy_function=optional_string(env, UPSTREAM_COPY_FUNCTION),
        **_publishing(env),  # type: ignore[arg-type]
    )


def load_upstream_copy(environ: Mapping[str, str] | None = None) -> Settings:
    """The upstream copy function's settings (``UPSTREAM_COPY_ENV_VARS``)."""
    env = _environ(environ)
    upstream = http_url(env, UPSTREAM_INDEX_URL)
    if upstream is None:
        raise ConfigError(f"{UPSTREAM_INDEX_URL} is required")
    return Settings(
        bucket=required_string(env, BUCKET),
        s3_endpoint_url=http_url(env, S3_ENDPOINT_URL),
        region=load_region(env),
        log_level=choice(env, LOG_LEVEL, LOG_LEVELS, "INFO", upper=True),
        upstream_index_url=_index_url(upstream),
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
        web_image_hosts=image_hosts(optional_string(env, WEB_IMAGE_HOSTS) or ""),
        # The upstream proxy's pages are rendered here, from the documents the API caches.
        upstream_index_url=_index_url(http_url(env, UPSTREAM_INDEX_URL)),
        upstream_min_age=duration(env, UPSTREAM_MIN_AGE, default=0, high=MAX_UPSTREAM_MIN_AGE),
    )


#: A host name as a description's image URL names it (lowercase, no port, no wildcard).
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
MAX_WEB_IMAGE_HOSTS = 50


def image_hosts(raw: str) -> tuple[str, ...]:
    """``img.shields.io,badgen.net`` → the hosts, checked; a bad one is a ``ConfigError``."""
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    if len(hosts) > MAX_WEB_IMAGE_HOSTS:
        raise ConfigError(f"{WEB_IMAGE_HOSTS}: at most {MAX_WEB_IMAGE_HOSTS} hosts")
    for host in hosts:
        if not _HOST.match(host):
            raise ConfigError(f"{WEB_IMAGE_HOSTS}: {host[:100]!r} is not a host name")
    return hosts


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
