"""Keeping a project's card in its catalog shard (``web.cards``), on the reindex path.

A card changes only when the latest version or its summary does, so most events read the
shard and write nothing. A write is conditional and retried on 412 like every state object;
when it still fails, the error goes up and the event is retried before the simple pages'
marker is written, so the next attempt renders (and updates the card) again.
"""

from __future__ import annotations

from serverless_pypi import layout
from serverless_pypi.reindex.state import ConditionalState
from serverless_pypi.storage import Bucket
from serverless_pypi.web import cards


class CatalogShard(ConditionalState[cards.Shard]):
    content_encoding = "gzip"

    def __init__(self, bucket: Bucket, shard: int) -> None:
        super().__init__(bucket, layout.catalog_key(shard))

    def load(self) -> tuple[cards.Shard, str | None]:
        stored = self.bucket.get(self.key)
        if stored is None:
            return {}, None
        return cards.load(stored[0]), stored[1]

    def dump(self, state: cards.Shard) -> bytes:
        return cards.dump(state)


def put_card(bucket: Bucket, project: str, card: cards.Card | None) -> None:
    """Make the catalog show ``card`` for ``project`` (None: not at all)."""

    def with_card(shard: cards.Shard) -> cards.Shard:
        if shard.get(project) == card:
            return shard
        changed = dict(shard)
        if card is None:
            changed.pop(project, None)
        else:
            changed[project] = card
        return changed

    CatalogShard(bucket, cards.shard_of(project)).update(with_card)
