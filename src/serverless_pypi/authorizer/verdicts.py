"""The authorizer's verdicts and the per-container cache that remembers them.

Without an identity source API Gateway cannot cache authorizer results, so the authorizer
bounds its calls to Cognito with this cache. Keys are a keyed hash of the ``Authorization``
value: the header and the password are never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Entries per cache (successes and failures are kept apart, so a flood of bad credentials
#: cannot push out the good ones).
CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Verdict:
    authenticated: bool
    username: str = ""
    uploader: bool = False
    groups: tuple[str, ...] = ()
    #: The caller presented an upload token (user ``__token__``): the API checks it itself.
    upload_token: bool = False

    def response(self) -> dict[str, Any]:
        """The simple response API Gateway passes on to the API (``api.auth`` reads it).
        Context values must be flat, so the groups go as a JSON list in a string."""
        context = {
            "authenticated": self.authenticated,
            "username": self.username if self.authenticated else "",
            "uploader": self.authenticated and self.uploader,
            "groups": json.dumps(list(self.groups) if self.authenticated else []),
            "upload_token": self.upload_token,
        }
        return {"isAuthorized": True, "context": context}


UNAUTHENTICATED = Verdict(authenticated=False)
UPLOAD_TOKEN = Verdict(authenticated=False, upload_token=True)


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
