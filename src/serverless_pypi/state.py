"""Publishing rendered pages so that the newest state always wins.

A state object (root state, project document) is written with a conditional write; the pages
rendered from it are separate objects, written afterwards. Concurrent writers can land their
pages out of order, so each page set carries the state ETag it shows (object metadata on the last
page written), and a writer checks the state again after publishing: if it moved on, it renders
again. The last writer to finish therefore always leaves pages that show the newest state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .derived import STATE_ETAG_META
from .storage import Bucket

log = logging.getLogger(__name__)

MAX_ROUNDS = 8
State = TypeVar("State")


@dataclass(frozen=True, slots=True)
class Page:
    key: str
    body: bytes | None  # None: the page must not exist
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Publisher(Generic[State]):
    bucket: Bucket
    state_key: str
    load: Callable[[], tuple[State, str | None]]
    render: Callable[[State], list[Page]]

    def _is_shown(self, marker: Page, etag: str) -> bool:
        if marker.body is None:
            return False  # deletions are cheap and idempotent: always repeat them
        head = self.bucket.head(marker.key)
        return head is not None and head.get("Metadata", {}).get(STATE_ETAG_META) == etag

    def _write(self, pages: list[Page], etag: str) -> None:
        for page in pages:
            if page.body is None:
                self.bucket.delete(page.key)
            else:
                self.bucket.put(
                    page.key, page.body, page.content_type, metadata={STATE_ETAG_META: etag}
                )

    def publish(self, state: State, etag: str) -> None:
        for _ in range(MAX_ROUNDS):
            pages = self.render(state)
            if not self._is_shown(pages[-1], etag):
                self._write(pages, etag)
            latest = self.bucket.head(self.state_key)
            if latest is None or latest.get("ETag") == etag:
                return
            state, new_etag = self.load()
            if new_etag is None:
                return
            etag = new_etag
        log.warning(
            "pages may lag their state; the next event will catch up",
            extra={"state_key": self.state_key},
        )
