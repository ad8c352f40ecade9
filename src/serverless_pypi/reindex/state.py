"""State objects updated by conditional writes, and the pages rendered from them.

A state object (the root index, a project document) is read, changed and written back with
``IfMatch`` (or ``IfNoneMatch`` when it does not exist yet); a 412 means another writer won, so
the change is re-applied to the state it wrote. No update is ever lost.

The pages rendered from a state are separate objects, written afterwards. Concurrent writers can
land their pages out of order, so each page set carries the state ETag it shows (object metadata
on the last page written), and a writer checks the state again after publishing: if it moved on,
it renders again. The last writer to finish therefore leaves pages that show the newest state.
"""

from __future__ import annotations

import gzip
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from serverless_pypi.errors import PreconditionFailed, StoreUnavailable
from serverless_pypi.layout import STATE_ETAG_META
from serverless_pypi.limits import MAX_RESPONSE_BODY, serialized_size
from serverless_pypi.storage import Bucket

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: The longest single wait between two attempts, seconds.
MAX_BACKOFF = 1.0
#: Warn when a stored page uses more than this share of what the API can send.
WARN_SHARE = 0.75
STATE_TYPE = "application/json"
State = TypeVar("State")


def backoff(attempt: int) -> None:
    """Full jitter, capped: writers that collided spread out instead of colliding again."""
    time.sleep(random.uniform(0, min(MAX_BACKOFF, 0.05 * 2**attempt)))  # noqa: S311 - jitter


@dataclass(frozen=True, slots=True)
class Page:
    """A rendered page, stored gzip-compressed: clients that accept gzip (pip, uv) get the
    stored bytes as they are, and a 10,000-file page stays far below Lambda's 6 MB limit."""

    key: str
    body: bytes | None  # uncompressed; None: the page must not exist
    content_type: str = "application/octet-stream"

    def stored(self) -> bytes:
        assert self.body is not None
        return compress(self.body)


def compress(body: bytes) -> bytes:
    """Deterministic gzip (no timestamp), so equal pages are equal objects."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def _warn_if_nearly_too_large(key: str, stored: bytes) -> None:
    """Say so well before a page outgrows what the API can send (see ``gateway``), while
    there is time to prune old files."""
    share = serialized_size(stored, binary=True) / MAX_RESPONSE_BODY
    if share > WARN_SHARE:
        log.warning(
            "page nears the API's response limit",
            extra={"key": key, "bytes": len(stored), "share_of_limit": round(share, 2)},
        )


class ConditionalState(ABC, Generic[State]):
    """One state object in the bucket: how to read and write it, updated without lost writes.

    Subclasses say how the state is stored (``load``, ``dump``); ``load`` returns an empty
    state and no ETag when the object does not exist.
    """

    content_type: str = STATE_TYPE
    content_encoding: str | None = None
    #: Conditional writes tried before giving up (a hot state object may allow more).
    max_attempts: int = MAX_ATTEMPTS

    def __init__(self, bucket: Bucket, key: str) -> None:
        self.bucket = bucket
        self.key = key

    @abstractmethod
    def load(self) -> tuple[State, str | None]:
        """The stored state and its ETag."""

    @abstractmethod
    def dump(self, state: State) -> bytes:
        """The bytes stored for ``state``."""

    def update(self, change: Callable[[State], State]) -> tuple[State, State]:
        """Apply ``change`` to the current state, write it conditionally (retrying on 412)
        and publish what depends on it; returns the state before and after."""
        for attempt in range(self.max_attempts):
            before, etag = self.load()
            after = change(before)
            written = after != before
            if written:
                try:
                    etag = self.bucket.put(
                        self.key,
                        self.dump(after),
                        self.content_type,
                        if_match=etag,
                        if_none_match=etag is None,
                        content_encoding=self.content_encoding,
                    )
                except PreconditionFailed:
                    backoff(attempt)
                    continue
            if etag is not None:
                self.stored(after, etag, just_written=written)
            return before, after
        raise StoreUnavailable(f"{self.key}: too many concurrent updates", transient=True)

    def stored(self, state: State, etag: str, *, just_written: bool) -> None:
        """Called once ``state`` is stored as ``etag``. A state that is its own page (the
        root JSON) has nothing more to do."""


class RenderedState(ConditionalState[State]):
    """A state whose pages are rendered into separate objects after each update."""

    def __init__(self, bucket: Bucket, key: str, *, marker_key: str) -> None:
        super().__init__(bucket, key)
        #: The page written last, whose metadata names the state ETag the pages show.
        self.marker_key = marker_key

    @abstractmethod
    def render(self, state: State) -> list[Page]:
        """The pages that show ``state``."""

    def costly(self, state: State) -> bool:
        """Whether rendering ``state`` costs far more than one HEAD (a large project)."""
        return False

    def _superseded(self, state: State, etag: str) -> bool:
        """Before a costly render: whether a newer state is stored already. Its writer
        renders that one (and checks again afterwards), so rendering this one is waste."""
        if not self.costly(state):
            return False
        latest = self.bucket.etag(self.key)
        return latest is not None and latest != etag

    def stored(self, state: State, etag: str, *, just_written: bool) -> None:
        self.publish(state, etag, just_written=just_written)

    def _is_shown(self, etag: str) -> bool:
        """Checked before rendering: most events leave the pages as they are, and rendering
        a large page costs far more than this one HEAD. (Pages that must not exist leave no
        marker, so their deletion is simply repeated; it is idempotent.)"""
        head = self.bucket.head(self.marker_key)
        return head is not None and head.metadata.get(STATE_ETAG_META) == etag

    def _write(self, pages: list[Page], etag: str) -> None:
        for page in pages:
            if page.body is None:
                self.bucket.delete(page.key)
            else:
                stored = page.stored()
                _warn_if_nearly_too_large(page.key, stored)
                self.bucket.put(
                    page.key,
                    stored,
                    page.content_type,
                    metadata={STATE_ETAG_META: etag},
                    content_encoding="gzip",
                )

    def publish(self, state: State, etag: str, *, just_written: bool = False) -> None:
        """Write the pages of ``state`` unless they show it already. A state this writer has
        ``just_written`` cannot be shown yet, so its marker is not even checked (at worst an
        equal earlier state's pages are written again, which is harmless)."""
        for _ in range(MAX_ATTEMPTS):
            if self._superseded(state, etag):
                return
            if just_written or not self._is_shown(etag):
                self._write(self.render(state), etag)
            just_written = False
            latest = self.bucket.etag(self.key)
            if latest is None or latest == etag:
                return
            state, new_etag = self.load()
            if new_etag is None:
                return
            etag = new_etag
        log.warning(
            "pages may lag their state; the next event will catch up", extra={"state_key": self.key}
        )
