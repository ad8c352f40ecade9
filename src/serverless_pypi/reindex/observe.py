"""What the bucket holds now: distribution objects and the yank markers about them.

Events and listings only say where to look; these functions read the objects themselves.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from serverless_pypi import layout, names
from serverless_pypi.catalog import report_ignored
from serverless_pypi.layout import MAX_YANK_REASON
from serverless_pypi.storage import Bucket, ObjectInfo

#: A yank reason is cut to this many characters.
#: At most this much of a marker is read: enough for ``MAX_YANK_REASON`` characters of four
#: UTF-8 bytes each, so a huge marker costs no more memory than a short one. (A reason padded
#: with long runs of whitespace is cut earlier.)
MAX_YANK_MARKER_BYTES = 4 * MAX_YANK_REASON


@dataclass(frozen=True, slots=True)
class Observed:
    """An object as it is now, with its yank state."""

    info: ObjectInfo
    yanked: bool | str = False


def yank_state(marker: bytes | None) -> bool | str:
    """A yank marker's body is the reason; an empty one means yanked without a reason.
    A character cut in half where the read stopped is left out."""
    if marker is None:
        return False
    cut = len(marker) >= MAX_YANK_MARKER_BYTES
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(marker, final=not cut)
    reason = " ".join(text.split())[:MAX_YANK_REASON]
    return reason or True


def read_yank_marker(bucket: Bucket, key: str) -> bytes | None:
    """The first ``MAX_YANK_MARKER_BYTES`` of the marker at ``key``; None when it is absent."""
    return bucket.read_at_most(key, MAX_YANK_MARKER_BYTES)


def yank_markers(bucket: Bucket, markers_listed: Iterable[ObjectInfo]) -> dict[str, bool | str]:
    """The yank state of the files that listed markers are about (one GET per marker)."""
    markers: dict[str, bool | str] = {}
    for marker in markers_listed:
        target = layout.yanked_target(marker.key)
        if target is None:
            continue
        body = read_yank_marker(bucket, marker.key)
        if body is not None:
            markers[target] = yank_state(body)
    return markers


def observe_keys(bucket: Bucket, keys: Iterable[str]) -> dict[str, Observed | None]:
    """Each of ``keys`` as it is now (None: gone), one HEAD and one marker read each."""
    observed: dict[str, Observed | None] = {}
    for key in keys:
        info = bucket.head(key)
        if info is None:
            observed[key] = None
            continue
        observed[key] = Observed(info, yank_state(read_yank_marker(bucket, layout.yank_key(key))))
    return observed


def observe_listing(
    objects: Iterable[ObjectInfo], yanked: Mapping[str, bool | str]
) -> dict[str, Observed]:
    """The distributions among listed ``objects``, with their yank state from ``yanked``
    (see ``yank_markers``); the rest is logged once."""
    kept: dict[str, Observed] = {}
    for obj in objects:
        if names.parse_key(obj.key) is None:
            report_ignored(obj.key, "not a distribution of this project")
            continue
        kept[obj.key] = Observed(obj, yanked.get(obj.key, False))
    return kept
