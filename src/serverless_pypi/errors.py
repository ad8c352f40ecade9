"""What can go wrong, in the index's own terms.

These errors say nothing about HTTP or exit codes: the API maps them to statuses
(``api.gateway.status_for``) and the CLI to exit codes (``cli.bucket``, ``cli.users``), so a
check written once reads the same to a twine user and to a CLI user. Every message is safe to
show to the caller as it is.
"""

from __future__ import annotations


class PackageIndexError(Exception):
    """Base of the index's errors; ``message`` is for the caller, as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(PackageIndexError):
    """Input the index will never accept as it is: a bad filename, archive or form."""


class TooLarge(Refused):
    """Input over a size bound; ``limit`` is the bound in bytes."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class Conflict(PackageIndexError):
    """The index already holds something else under the same identity (files are immutable)."""


class NotFound(PackageIndexError):
    """The thing asked for is not in the index."""


class Forbidden(PackageIndexError):
    """The caller is known but may not do this."""


class StoreUnavailable(PackageIndexError):
    """The object store failed. ``transient``: worth retrying (throttling, timeouts, 5xx)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class PreconditionFailed(Exception):
    """A conditional write lost a race (S3's 412 or 409): re-read and try again. Internal to
    the writers, never shown to a caller."""


class UpstreamUnavailable(PackageIndexError):
    """The upstream index failed, sent something unusable, or (``timeout``) did not answer in
    time; 502, or 504 for a timeout."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout
