"""Short-lived upload tokens, MAC'd with a KMS HMAC key (``GenerateMac``/``VerifyMac``).

``spt1.<base64url payload>.<base64url mac>``; the payload names the publisher, the project
globs, ``iat``, ``exp`` and a random ``jti``. KMS rather than a secret in Secrets Manager: the
key never leaves KMS (not in Lambda's memory, not in Terraform state), and there is nothing to
rotate by hand; the price is one KMS call per mint and per token upload, which are rare.
Tokens are the password of user ``__token__`` and are never logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

PREFIX = "spt1."
USERNAME = "__token__"
#: KMS MACs at most 4096 bytes of message.
MAX_PAYLOAD_BYTES = 4096
MAX_TOKEN_LENGTH = 6000
MAC_ALGORITHM = "HMAC_SHA_256"


class TokenRefused(Exception):
    """An upload token that does not authorize anything; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KeyUnavailable(Exception):
    """KMS did not answer (throttling, an outage, a missing permission): not the caller's
    fault; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Mac(Protocol):
    def sign(self, message: bytes) -> bytes: ...

    def verify(self, message: bytes, mac: bytes) -> bool: ...


class KmsMac:
    """The module's KMS HMAC key (botocore directly, short timeouts, created on first use)."""

    def __init__(self, key_id: str, region: str, endpoint_url: str | None = None) -> None:
        self.key_id = key_id
        self.region = region
        self.endpoint_url = endpoint_url
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore.config import Config
            from botocore.session import get_session

            self._client = get_session().create_client(
                "kms",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(
                    retries={"mode": "standard", "max_attempts": 3},
                    connect_timeout=2,
                    read_timeout=5,
                ),
            )
        return self._client

    def sign(self, message: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.generate_mac(
                KeyId=self.key_id, MacAlgorithm=MAC_ALGORITHM, Message=message
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from None
        mac: bytes = answer["Mac"]
        return mac

    def verify(self, message: bytes, mac: bytes) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.verify_mac(
                KeyId=self.key_id, MacAlgorithm=MAC_ALGORITHM, Message=message, Mac=mac
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "KMSInvalidMacException":
                return False
            raise _unavailable(exc) from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from None
        return answer.get("MacValid") is True


def _unavailable(exc: Exception) -> KeyUnavailable:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(exc).__name__
    log.warning("kms error", extra={"error_code": code})
    return KeyUnavailable("The upload-token key (KMS) is unavailable; try again.")


@dataclass(frozen=True, slots=True)
class UploadToken:
    publisher: str
    projects: tuple[str, ...]
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(
    mac: Mac,
    publisher: str,
    projects: tuple[str, ...],
    ttl: int,
    clock: Callable[[], float] = time.time,
) -> tuple[str, int]:
    """A new token and its expiry (epoch seconds)."""
    now = int(clock())
    payload = {
        "pub": publisher[:512],
        "projects": list(projects),
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_hex(16),
    }
    message = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    if len(message) > MAX_PAYLOAD_BYTES:
        raise TokenRefused("the publisher's project globs are too many for an upload token")
    token = f"{PREFIX}{_b64(message)}.{_b64(mac.sign(message))}"
    return token, now + ttl


#: ``base64("__token__")``: 9 bytes, so every header for that user starts with these 12 chars.
_TOKEN_USER_B64 = base64.b64encode(USERNAME.encode()).decode()
MAX_HEADER_LENGTH = 8192


def token_password(header: str | None) -> str | None:
    """The password of a ``Basic`` header whose user is ``__token__``, else None (any other
    user, or no well-formed header). Stdlib only: the authorizer and the API both call it."""
    if not header or len(header) > MAX_HEADER_LENGTH:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "basic" or not value.startswith(_TOKEN_USER_B64):
        return None
    try:
        text = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, colon, password = text.partition(":")
    return password if colon and username == USERNAME else None


def verify(mac: Mac, token: str, clock: Callable[[], float] = time.time) -> UploadToken:
    """The token's grant; ``TokenRefused`` when it is malformed, expired or not ours."""
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenRefused("Invalid upload token.")
    encoded, dot, encoded_mac = token.removeprefix(PREFIX).partition(".")
    try:
        message, signature = _unb64(encoded), _unb64(encoded_mac)
        payload = json.loads(message)
    except (binascii.Error, ValueError):
        raise TokenRefused("Invalid upload token.") from None
    if not dot or not isinstance(payload, dict):
        raise TokenRefused("Invalid upload token.")
    expires, projects = payload.get("exp"), payload.get("projects")
    if not isinstance(expires, int) or not isinstance(projects, list):
        raise TokenRefused("Invalid upload token.")
    if expires <= clock():
        raise TokenRefused("Upload token expired: mint a new one.")
    if not mac.verify(message, signature):
        raise TokenRefused("Invalid upload token: not issued by this index.")
    return UploadToken(
        publisher=str(payload.get("pub", "")),
        projects=tuple(str(glob) for glob in projects),
        expires=expires,
    )
