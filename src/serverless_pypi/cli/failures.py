"""What went wrong talking to S3, in one line that names the bucket or endpoint and the fix.

``storage`` turns every botocore failure into ``StoreUnavailable`` with the botocore error as its
cause; this module reads that cause. A failure that is about the whole bucket (no credentials,
no connection, no such bucket, access denied, an endpoint that is not S3) is *fatal*: every
other file of the command would fail the same way, so the command stops with one line instead
of one per file.

The most common local mistake is ``--endpoint-url`` pointed at the index (``serve``'s
``index:`` port) instead of its S3 emulator (the ``s3:`` line): the index answers S3 requests
with bare 404s or 401s. Such an answer makes us ask the endpoint for ``/simple/``; when a
package index answers, the message says so.
"""

from __future__ import annotations

import argparse
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from serverless_pypi import config
from serverless_pypi.errors import StoreUnavailable

#: S3 error codes, by what they mean for the command.
_NO_BUCKET = frozenset({"NoSuchBucket"})
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem"})
_BAD_CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
    }
)
_WRONG_REGION = frozenset(
    {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
)
#: How long the "is this the index?" question may take.
PROBE_TIMEOUT = 3.0


class CommandFailed(Exception):
    """The whole command stops: ``message`` is its one line, ``code`` its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    """What a command talks to, for the messages."""

    bucket: str | None
    endpoint_url: str | None = None
    #: Whether a loopback endpoint may be ``serve``'s emulator (hints about its `s3:` line);
    #: not for ``serve --bucket`` itself.
    may_be_serve: bool = True

    @classmethod
    def of(cls, args: argparse.Namespace) -> Target:
        return cls(getattr(args, "bucket", None), getattr(args, "endpoint_url", None))

    @property
    def where(self) -> str:
        return self.endpoint_url or f"S3 in region {config.load_region()}"

    @property
    def local(self) -> bool:
        host = urllib.parse.urlsplit(self.endpoint_url or "").hostname or ""
        return self.may_be_serve and host in ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class Explained:
    message: str
    fatal: bool


def explain(exc: StoreUnavailable, target: Target) -> Explained:
    """The one-line reason for ``exc`` and whether the whole command must stop."""
    cause = exc.__cause__
    bucket = f"bucket {target.bucket!r}" if target.bucket else "the bucket"
    if isinstance(cause, NoCredentialsError | PartialCredentialsError):
        hint = "; for the local server any values work" if target.local else ""
        return Explained(
            f"no AWS credentials for {bucket}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY{hint}",
            fatal=True,
        )
    if isinstance(cause, EndpointConnectionError | ConnectTimeoutError):
        if target.endpoint_url and target.may_be_serve:
            return Explained(
                f"cannot connect to {target.endpoint_url}: is it running? For the local "
                "server, --endpoint-url is the URL on the `s3:` line `serverless-pypi serve` "
                "prints",
                fatal=True,
            )
        if target.endpoint_url:
            return Explained(f"cannot connect to {target.endpoint_url}: is it running?", True)
        return Explained(f"cannot connect to {target.where}: check the network, AWS_REGION", True)
    if isinstance(cause, ReadTimeoutError):
        return Explained(f"{target.where} did not answer in time; try again", fatal=False)
    if isinstance(cause, ClientError):
        return _client_error(cause, exc, target, bucket)
    if isinstance(cause, BotoCoreError):
        return Explained(f"{exc.message} ({cause})", fatal=False)
    return Explained(exc.message, fatal=False)


def _client_error(
    cause: ClientError, exc: StoreUnavailable, target: Target, bucket: str
) -> Explained:
    error = cause.response.get("Error", {})
    code = str(error.get("Code", ""))
    where = target.where
    if code in _NO_BUCKET:
        local = " (the local server's bucket is on its `s3:` line)" if target.local else ""
        return Explained(f"{bucket} does not exist at {where}: check --bucket{local}", True)
    if code in _DENIED or (code == "403" and cause.operation_name == "HeadObject"):
        return Explained(
            f"access to {bucket} at {where} denied ({code}): your AWS credentials lack the "
            "permission (see the IAM actions in the README), or the bucket policy refuses them",
            fatal=True,
        )
    if code in _BAD_CREDENTIALS:
        return Explained(
            f"{where} refused your AWS credentials ({code}): check AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or renew the session",
            fatal=True,
        )
    if code in _WRONG_REGION:
        region = config.load_region()
        return Explained(
            f"{bucket} is not in region {region} ({code}): set AWS_REGION to its region",
            fatal=True,
        )
    if code.isdigit():  # an HTTP status without an S3 error document: not an S3 endpoint
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", code)
        if target.endpoint_url and looks_like_an_index(target.endpoint_url):
            return Explained(
                f"{target.endpoint_url} is the package index, not S3 (HTTP {status} to "
                f"{cause.operation_name}): --endpoint-url takes the URL on the `s3:` line "
                "`serverless-pypi serve` prints",
                fatal=True,
            )
        return Explained(
            f"{where} does not answer as S3 does (HTTP {status} to {cause.operation_name} on "
            f"{bucket}): check --endpoint-url",
            fatal=True,
        )
    return Explained(exc.message, fatal=False)


def looks_like_an_index(endpoint_url: str) -> bool:
    """Whether ``endpoint_url`` serves a PEP 691 simple index (ours, or any other), at
    ``/simple/`` below it or at itself (a pasted ``index:`` URL)."""
    base = endpoint_url.rstrip("/")
    candidates = [base + "/simple/"] + ([base + "/"] if base.endswith("/simple") else [])
    return any(_answers_as_an_index(url) for url in candidates)


def _answers_as_an_index(url: str) -> bool:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return False
    request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
        url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT) as response:  # noqa: S310
            kind = str(response.headers.get("Content-Type", ""))
            return kind.startswith("application/vnd.pypi.simple")
    except urllib.error.HTTPError as exc:
        # An index that requires users asks for Basic credentials; S3 never does.
        return exc.code == 401 and "basic" in str(exc.headers.get("WWW-Authenticate", "")).lower()
    except (OSError, ValueError):
        return False
