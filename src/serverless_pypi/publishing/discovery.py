"""An OIDC issuer's signing keys: discovery document, then JWKS, fetched with bounds.

Only configured issuers are ever fetched (the caller looks the issuer up first), so the cache
holds at most one entry per configured issuer. Every fetch is bounded in time and size; a key
set is kept for ``KEYS_TTL`` and refetched early at most once per ``REFRESH_INTERVAL`` when a
token names a key it does not hold (key rotation), so a flood of tokens with made-up key ids
costs at most one fetch per issuer per interval.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from serverless_pypi.publishing.publishers import PublisherConfigError, check_issuer

log = logging.getLogger(__name__)

#: Bytes read of a discovery document or a key set (GitHub's are under 2 KB).
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_KEYS = 32
FETCH_TIMEOUT = 3.0
KEYS_TTL = 600.0
REFRESH_INTERVAL = 60.0


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched or read; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Fetch = Callable[[str], bytes]


def fetch_bounded(url: str) -> bytes:
    """GET ``url`` with a timeout, refusing bodies over ``MAX_DOCUMENT_BYTES`` and redirects
    (a redirect could lead anywhere)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT) as response:
            body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise KeysUnavailable(f"could not fetch {url}: {type(exc).__name__}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeysUnavailable(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


@dataclass
class _Entry:
    keys: dict[str, Any]  # kid → a PyJWK
    fetched: float


class KeySource:
    """Signing keys per issuer, cached; thread-safe (the local server is threaded)."""

    def __init__(
        self,
        *,
        allow_loopback_http: bool = False,
        fetch: Fetch = fetch_bounded,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_loopback_http = allow_loopback_http
        self.fetch = fetch
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def key(self, issuer: str, kid: str | None) -> Any:
        """The issuer's key ``kid`` (or its only key when the token names none)."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(issuer)
        fresh = entry is not None and now - entry.fetched < KEYS_TTL
        if (
            entry is None
            or not fresh
            or (_pick(entry.keys, kid) is None and now - entry.fetched >= REFRESH_INTERVAL)
        ):
            entry = _Entry(self._fetch_keys(issuer), now)
            with self._lock:
                self._entries[issuer] = entry
        found = _pick(entry.keys, kid)
        if found is None:
            raise KeysUnavailable(f"the issuer has no signing key {kid!r}")
        return found

    def _fetch_keys(self, issuer: str) -> dict[str, Any]:
        import jwt

        discovery = _json_object(self.fetch(f"{issuer}/.well-known/openid-configuration"))
        if str(discovery.get("issuer", "")).rstrip("/") != issuer:
            raise KeysUnavailable("the issuer's discovery document names another issuer")
        jwks_uri = discovery.get("jwks_uri")
        try:
            check_issuer(jwks_uri, "jwks_uri", allow_loopback_http=self.allow_loopback_http)
        except PublisherConfigError:
            raise KeysUnavailable("the issuer's jwks_uri is not an https URL") from None
        assert isinstance(jwks_uri, str)
        if urlsplit(jwks_uri).hostname != urlsplit(issuer).hostname:
            log.info("jwks on another host", extra={"issuer": issuer, "jwks_uri": jwks_uri})
        raw_keys = _json_object(self.fetch(jwks_uri)).get("keys")
        if not isinstance(raw_keys, list) or not raw_keys:
            raise KeysUnavailable("the issuer's key set has no keys")
        keys: dict[str, Any] = {}
        for raw in raw_keys[:MAX_KEYS]:
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                continue
            try:
                keys[str(raw.get("kid", ""))] = jwt.PyJWK(raw)
            except jwt.PyJWTError:
                continue  # a key type we cannot use; others may do
        if not keys:
            raise KeysUnavailable("the issuer's key set has no usable signing key")
        log.info("fetched issuer keys", extra={"issuer": issuer, "keys": len(keys)})
        return keys


def _pick(keys: dict[str, Any], kid: str | None) -> Any:
    if kid is None:
        return next(iter(keys.values())) if len(keys) == 1 else None
    return keys.get(kid)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        raise KeysUnavailable("the issuer answered with something that is not JSON") from None
    if not isinstance(value, dict):
        raise KeysUnavailable("the issuer answered with something that is not a JSON object")
    return value
