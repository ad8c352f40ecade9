"""HTTP Basic credentials from an authorizer event, decoded strictly.

Anything that is not a well-formed ``Basic`` value within Cognito's limits is "no credentials",
so nothing odd ever reaches Cognito or the log.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Longest ``Authorization`` value looked at; Cognito's own limits are 128 and 256 below.
MAX_HEADER_LENGTH = 1024
MAX_USERNAME_LENGTH = 128
MAX_PASSWORD_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
