"""The welcome page's project list: one small card per project, kept in shards.

A card is what ``/`` shows of a project (latest version, summary, when that version was first
uploaded). Cards live in ``layout.CATALOG_SHARDS`` objects chosen by a hash of the name, not in
one: every new release writes its project's card, and one object written by every event is the
storm that the root state suffers (design notes, section 11). With 16 shards, 300 projects
arriving at once make about 19 writers per object instead of 300. The API reads all shards
(in parallel) to answer ``/``. Standard library only: the API imports this.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from serverless_pypi import layout
from serverless_pypi.documents import is_canonical_name

MAX_SUMMARY = 512


@dataclass(frozen=True, slots=True)
class Card:
    name: str
    version: str
    summary: str
    #: When the latest version was first uploaded (ISO 8601, UTC): the welcome page's order.
    released: str

    def to_json(self) -> list[str]:
        return [self.version, self.summary, self.released]


Shard = dict[str, Card]


def shard_of(project: str) -> int:
    return int.from_bytes(sha256(project.encode()).digest()[:4], "big") % layout.CATALOG_SHARDS


def load(stored: bytes) -> Shard:
    """A stored (gzipped) shard; malformed entries are dropped, never trusted."""
    try:
        document: Any = json.loads(gzip.decompress(stored))
    except (OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError):
        return {}
    raw = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        return {}
    shard: Shard = {}
    for name, entry in raw.items():
        if (
            isinstance(name, str)
            and is_canonical_name(name)
            and isinstance(entry, list)
            and len(entry) == 3
            and all(isinstance(v, str) for v in entry)
        ):
            shard[name] = Card(name, entry[0], entry[1][:MAX_SUMMARY], entry[2])
    return shard


def dump(shard: Shard) -> bytes:
    body = {"version": 1, "projects": {n: shard[n].to_json() for n in sorted(shard)}}
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)
