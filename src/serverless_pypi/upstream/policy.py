"""Which upstream projects and files may be served: the block list and the cooldown.

Both apply only to upstream projects: a private project is never asked about upstream, and its
files are never filtered.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from serverless_pypi.upstream.parse import UpstreamFile


def blocked(project: str, globs: Iterable[str]) -> bool:
    """Whether the normalized ``project`` matches a block glob (also normalized, see
    ``config.block_glob``): a reserved name never taken from upstream."""
    return any(fnmatchcase(project, glob) for glob in globs)


def visible(file: UpstreamFile, min_age: int, now: float) -> bool:
    """With a cooldown (``min_age`` seconds), a file is shown once it has been public that
    long; a file without an upload time is never shown, since its age is unknown."""
    if min_age <= 0:
        return True
    uploaded = file.uploaded
    return uploaded is not None and now - uploaded >= min_age


def cooled(files: Iterable[UpstreamFile], min_age: int, now: float) -> list[UpstreamFile]:
    return [f for f in files if visible(f, min_age, now)]
