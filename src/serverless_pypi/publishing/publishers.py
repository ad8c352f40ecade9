"""Trusted publishers and per-group project globs, as configured (JSON in the environment).

Parsed at config load so a bad entry fails the first invocation with a clear message (``config``
imports this module only when something is configured). Stdlib only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: Bounds on what one configuration may hold (Lambda's environment is 4 KB anyway).
MAX_PUBLISHERS = 100
MAX_CLAIMS = 20
MAX_GLOBS = 100
MAX_VALUE_LENGTH = 512
#: A glob over normalized names: lowercase letters, digits, ``-`` ``.`` ``_`` and ``*?[]!``.
_GLOB = re.compile(r"^[a-z0-9*?\[\]!._-]{1,200}$")
_CLAIM_NAME = re.compile(r"^[A-Za-z0-9_:.-]{1,128}$")
#: Claims the verifier checks itself; an entry may not override them.
RESERVED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat"})


class PublisherConfigError(ValueError):
    """A trusted-publisher or upload-permission entry is malformed."""


@dataclass(frozen=True, slots=True)
class Publisher:
    """One trusted publisher: tokens from ``issuer`` whose claims equal ``claims`` may upload
    the projects matching ``projects``."""

    issuer: str
    claims: tuple[tuple[str, str], ...]
    projects: tuple[str, ...]

    @property
    def name(self) -> str:
        """A readable, stable description for logs and upload tokens (no secrets in it)."""
        shown = ",".join(f"{key}={value}" for key, value in self.claims)
        return f"{self.issuer} {shown}"

    def matches(self, token_claims: dict[str, Any]) -> str | None:
        """None when every configured claim equals the token's; else the first claim that
        does not (its name only: the values are the caller's to see in its own token)."""
        for key, expected in self.claims:
            if token_claims.get(key) != expected:
                return key
        return None


def matches_any(project: str, globs: tuple[str, ...]) -> bool:
    """Whether a normalized project name matches one of ``globs`` (case-sensitive, as names
    are normalized)."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(project, glob) for glob in globs)


def _globs(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise PublisherConfigError(f"{where}: projects must be a non-empty list of globs")
    if len(raw) > MAX_GLOBS:
        raise PublisherConfigError(f"{where}: at most {MAX_GLOBS} project globs")
    for glob in raw:
        if not isinstance(glob, str) or not _GLOB.match(glob):
            raise PublisherConfigError(
                f"{where}: project glob {glob!r} must be over normalized names "
                "(lowercase letters, digits, '-', '.', '_' and * ? [ ] !)"
            )
    return tuple(raw)


def check_issuer(issuer: Any, where: str, *, allow_loopback_http: bool) -> str:
    """An issuer URL: https, or (local mode only) http on a loopback address."""
    if not isinstance(issuer, str) or len(issuer) > MAX_VALUE_LENGTH:
        raise PublisherConfigError(f"{where}: issuer must be a URL")
    parts = urlsplit(issuer)
    if not parts.hostname or parts.query or parts.fragment:
        raise PublisherConfigError(f"{where}: issuer must be a URL, got {issuer!r}")
    if parts.scheme == "https":
        return issuer.rstrip("/")
    if parts.scheme == "http" and allow_loopback_http and _is_loopback(parts.hostname):
        return issuer.rstrip("/")
    raise PublisherConfigError(
        f"{where}: issuer must be an https URL, got {issuer!r}"
        + (" (http only on a loopback address)" if allow_loopback_http else "")
    )


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _claims(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict) or not raw:
        raise PublisherConfigError(
            f"{where}: claims must name at least one claim to match (e.g. repository), "
            "or any token from the issuer could publish"
        )
    if len(raw) > MAX_CLAIMS:
        raise PublisherConfigError(f"{where}: at most {MAX_CLAIMS} claims")
    claims = []
    for key, value in sorted(raw.items()):
        if not isinstance(key, str) or not _CLAIM_NAME.match(key) or key in RESERVED_CLAIMS:
            raise PublisherConfigError(f"{where}: claim name {key!r} is not allowed")
        if not isinstance(value, str) or not value or len(value) > MAX_VALUE_LENGTH:
            raise PublisherConfigError(f"{where}: claim {key!r} must be a non-empty string")
        claims.append((key, value))
    return tuple(claims)


def _load(text: str, what: str, kind: type[list[Any]] | type[dict[str, Any]], shape: str) -> Any:
    """JSON of the expected ``kind`` with at most ``MAX_PUBLISHERS`` entries."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise PublisherConfigError(f"{what}: not JSON ({exc})") from None
    if not isinstance(raw, (list, dict)) or not isinstance(raw, kind):
        raise PublisherConfigError(f"{what}: must be {shape}")
    if len(raw) > MAX_PUBLISHERS:
        raise PublisherConfigError(f"{what}: at most {MAX_PUBLISHERS} entries")
    return raw


def parse_publishers(text: str, *, allow_loopback_http: bool = False) -> tuple[Publisher, ...]:
    """The publishers of a JSON list of ``{"issuer", "claims", "projects"}`` objects."""
    raw = _load(text, "trusted publishers", list, "a JSON list of objects")
    publishers = []
    for number, entry in enumerate(raw, start=1):
        where = f"trusted publisher {number}"
        if not isinstance(entry, dict):
            raise PublisherConfigError(f"{where}: must be an object")
        unknown = set(entry) - {"issuer", "claims", "projects"}
        if unknown:
            raise PublisherConfigError(f"{where}: unknown keys {sorted(unknown)}")
        publishers.append(
            Publisher(
                issuer=check_issuer(
                    entry.get("issuer"), where, allow_loopback_http=allow_loopback_http
                ),
                claims=_claims(entry.get("claims"), where),
                projects=_globs(entry.get("projects"), where),
            )
        )
    return tuple(publishers)


def parse_permissions(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Group → project globs, from a JSON object ``{"team-a": ["acme-a-*"]}``."""
    raw = _load(text, "upload permissions", dict, "a JSON object of group → globs")
    permissions = []
    for group, globs in sorted(raw.items()):
        if not isinstance(group, str) or not 1 <= len(group) <= 128:
            raise PublisherConfigError(f"upload permissions: group name {group!r} is invalid")
        permissions.append((group, _globs(globs, f"upload permissions of group {group!r}")))
    return tuple(permissions)
