"""Project names, distribution filenames, and which bucket keys hold distributions.

Everything that decides whether a string names a project or a distribution lives here, so the
API, the reindex Lambda and the CLI agree on what the bucket contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

#: PEP 508 names: letters, digits, ``._-``, starting and ending with a letter or digit.
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
MAX_NAME_LENGTH = 200
MAX_FILENAME_LENGTH = 255
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


def is_valid_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and _VALID_NAME.match(name) is not None


def canonical(name: str) -> NormalizedName | None:
    """The canonical form of ``name``, or None when it is not a valid project name."""
    return canonicalize_name(name) if is_valid_name(name) else None


#: What makes two files the same file, whatever their filenames' spelling: the normalized
#: project name, the version (``Version("1.0") == Version("01.0.0")``), and for wheels the
#: build tag and the set of tags; every sdist of a version is one file.
Identity = tuple[NormalizedName, Version, BuildTag | None, frozenset[Tag] | None]


@dataclass(frozen=True, slots=True)
class Distribution:
    """A wheel or sdist filename, parsed."""

    filename: str
    project: NormalizedName
    version: Version
    kind: str  # "bdist_wheel" or "sdist"
    build: BuildTag = ()
    tags: frozenset[Tag] = frozenset()

    @property
    def identity(self) -> Identity:
        if self.is_wheel:
            return (self.project, self.version, self.build, self.tags)
        return (self.project, self.version, None, None)

    @property
    def canonical_filename(self) -> str:
        """The filename the packaging specifications require for new uploads: the name
        normalized with underscores, the version normalized, and an sdist as ``.tar.gz``
        (PEP 625); a wheel's build and compressed tags are kept as written."""
        stem = f"{self.project.replace('-', '_')}-{self.version}"
        if not self.is_wheel:
            return f"{stem}.tar.gz"
        # Name and version are the first two of the dash-separated fields, and neither
        # holds a dash, so the rest (build tag, tags) follows the second dash.
        rest = self.filename.split("-", 2)[2]
        return f"{stem}-{rest}"

    @property
    def is_wheel(self) -> bool:
        return self.kind == "bdist_wheel"

    @property
    def key(self) -> str:
        """Where uploads store it: under the canonical spelling of its project."""
        return f"{self.project}/{self.filename}"


def parse_filename(filename: str) -> Distribution | None:
    """Parse a distribution filename; None for anything a client would not install."""
    if (
        not filename
        or len(filename) > MAX_FILENAME_LENGTH
        or "/" in filename
        or filename.startswith(".")
        or not filename.endswith(DIST_SUFFIXES)
        or not filename.isprintable()
    ):
        return None
    try:
        if filename.endswith(".whl"):
            project, version, build, tags = parse_wheel_filename(filename)
            return _distribution(filename, project, version, "bdist_wheel", build, tags)
        project, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
    return _distribution(filename, project, version, "sdist", (), frozenset())


def _distribution(
    filename: str,
    project: NormalizedName,
    version: Version,
    kind: str,
    build: BuildTag,
    tags: frozenset[Tag],
) -> Distribution | None:
    if not is_valid_name(project):
        return None
    return Distribution(filename, project, version, kind, build, tags)


@dataclass(frozen=True, slots=True)
class DistributionKey:
    """A bucket key ``<prefix>/<filename>`` that holds a distribution of a valid project."""

    key: str
    prefix: str
    dist: Distribution

    @property
    def project(self) -> NormalizedName:
        return self.dist.project


@lru_cache(maxsize=65_536)
def parse_key(key: str) -> DistributionKey | None:
    """Parse a bucket key; None unless it is ``<project spelling>/<dist of that project>``.

    Cached: a large project's keys are parsed on every event that touches it, and packaging's
    filename parsing is the biggest cost of that event.
    """
    prefix, sep, filename = key.partition("/")
    if not sep:
        return None
    project = canonical(prefix)
    if project is None:
        return None
    dist = parse_filename(filename)
    if dist is None or dist.project != project:
        return None
    return DistributionKey(key=key, prefix=prefix, dist=dist)
