"""The S3 bucket, seen through the few operations the index needs.

All botocore errors are translated here, so callers deal with three outcomes only: a value,
``None`` for a missing object, or ``errors.StoreUnavailable`` (``errors.PreconditionFailed``
for a conditional write that lost). Large files go up as multipart uploads (``put_parts``).

Distributions are written with S3's SHA-256 checksum (``put(sha256=...)``), which S3 verifies
on arrival. Read back, it spares the reindexer reading a file to hash it, but only where S3
guarantees it is the file's SHA-256 (``full_object_sha256``): a single-part object on AWS.
A multipart object's SHA-256 is a checksum of its parts' checksums (S3 has no full-object
SHA-256 for multipart uploads), and moto stores whatever checksum a client claims unverified,
so a bucket not on an ``amazonaws.com`` endpoint is never trusted (``Bucket.trust_checksums``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session

from serverless_pypi.config import Settings
from serverless_pypi.errors import PreconditionFailed, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

log = logging.getLogger(__name__)

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_UNAVAILABLE = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalError",
        "500",
        "503",
    }
)
_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, operation: str) -> StoreUnavailable | PreconditionFailed:
    """The index's error for a botocore failure of ``operation``."""
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code in _CONFLICT:
            return PreconditionFailed(operation)
        return StoreUnavailable(
            f"S3 {operation} failed: {code or 'unknown error'}", transient=code in _UNAVAILABLE
        )
    return StoreUnavailable(f"S3 {operation} failed: {type(exc).__name__}", transient=True)


def _read(stream: Any, sink: Callable[[bytes], object], chunk_size: int = 1024 * 1024) -> None:
    """Drain an object body into ``sink``; a failure mid-body is ``StoreUnavailable`` too."""
    try:
        while chunk := stream.read(chunk_size):
            sink(chunk)
    except (BotoCoreError, OSError) as exc:
        raise translate(exc, "GetObject") from exc
    finally:
        stream.close()


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime
    etag: str
    #: User metadata (``x-amz-meta-*``); listings do not return it, so it is empty there.
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: The object's SHA-256 (hex) as S3 guarantees it (see ``full_object_sha256``), or None.
    sha256: str | None = None

    @classmethod
    def from_response(
        cls, key: str, response: Mapping[str, Any], *, trust_checksum: bool = False
    ) -> ObjectInfo:
        """From a GetObject or HeadObject response (a whole object's, not a range's)."""
        return cls(
            key=key,
            size=int(response.get("ContentLength", 0)),
            last_modified=response["LastModified"],
            etag=str(response.get("ETag", "")),
            metadata=dict(response.get("Metadata") or {}),
            sha256=full_object_sha256(response) if trust_checksum else None,
        )


def full_object_sha256(response: Mapping[str, Any]) -> str | None:
    """The hex SHA-256 of the whole object from a response's checksum, when it is one.

    S3 verifies a SHA-256 sent with a single-part upload (and computes one on a copy); a
    multipart object's is a checksum of checksums ("-N" appended, ``ChecksumType``
    COMPOSITE, an ETag with "-N"), which no reader can check a file against. Any of those
    signs, or a value that is not 32 bytes of base64, and there is no SHA-256 to trust.
    """
    value = response.get("ChecksumSHA256")
    if not value or response.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        return None
    if "-" in str(response.get("ETag", "")):
        return None
    try:
        digest = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None


def checksum_header(sha256: str) -> str:
    """``ChecksumSHA256``'s form (base64) of a hex SHA-256."""
    return base64.b64encode(bytes.fromhex(sha256)).decode("ascii")


def on_aws(client: S3Client) -> bool:
    """Whether ``client`` talks to AWS's own S3 (so S3's checksum guarantees hold)."""
    host = urlsplit(str(client.meta.endpoint_url)).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def make_client(settings: Settings) -> S3Client:
    """An S3 client whose presigned URLs are SigV4 on the bucket's regional endpoint.

    botocore is used directly (not boto3) because importing boto3 adds to every cold start
    and the index needs nothing from it.
    """
    config = Config(
        signature_version="s3v4",
        s3={
            "us_east_1_regional_endpoint": "regional",
            "addressing_style": "path" if settings.s3_endpoint_url else "virtual",
        },
        retries={"mode": "standard", "max_attempts": 3},
        # Checksums are asked for (ChecksumMode) only where the index trusts them, so an object
        # whose stored checksum lies (moto keeps any) is still read and hashed.
        response_checksum_validation="when_required",
        connect_timeout=5,
        read_timeout=20,
        # A full rebuild's threads (reindex.REBUILD_WORKERS) each hold a connection.
        max_pool_connections=16,
    )
    client = get_session().create_client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.s3_endpoint_url,
        config=config,
    )
    return cast("S3Client", client)


class Bucket:
    """One bucket and the operations the index performs on it."""

    def __init__(self, client: S3Client, name: str, *, trust_checksums: bool | None = None) -> None:
        self.client = client
        self.name = name
        #: Whether S3's full-object SHA-256 checksums may stand for reading the bytes (default:
        #: on AWS only, see the module docstring).
        self.trust_checksums = on_aws(client) if trust_checksums is None else trust_checksums

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when it does not exist."""
        stored = self.read(key)
        return None if stored is None else (stored[0], stored[1].etag)

    def read(self, key: str) -> tuple[bytes, ObjectInfo] | None:
        """The object's bytes and what S3 said about it (user metadata too), or None."""
        opened = self.open(key)
        if opened is None:
            return None
        stream, info = opened
        chunks: list[bytes] = []
        _read(stream, chunks.append)
        return b"".join(chunks), info

    def open(self, key: str) -> tuple[Any, ObjectInfo] | None:
        """A streaming body and what S3 said about it (with the object's SHA-256 when
        ``trust_checksums`` and S3 guarantees one), or None when it does not exist."""
        args: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if self.trust_checksums:
            args["ChecksumMode"] = "ENABLED"
        try:
            response = self.client.get_object(**args)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise translate(exc, "GetObject") from exc
        except BotoCoreError as exc:
            raise translate(exc, "GetObject") from exc
        info = ObjectInfo.from_response(key, response, trust_checksum=self.trust_checksums)
        return response["Body"], info

    def read_range(self, key: str, offset: int, length: int, *, etag: str) -> bytes:
        """``length`` bytes of the object at ``offset`` (``length`` > 0, within the object),
        as long as it is still the object with ``etag``; a changed or vanished object is
        ``StoreUnavailable`` (transient: its own event follows)."""
        byte_range = f"bytes={offset}-{offset + length - 1}"
        try:
            response = self.client.get_object(
                Bucket=self.name, Key=key, Range=byte_range, IfMatch=etag
            )
        except ClientError as exc:
            if _error_code(exc) in _MISSING | _CONFLICT:
                raise StoreUnavailable(
                    f"S3 GetObject failed: {key} changed while it was read", transient=True
                ) from exc
            raise translate(exc, "GetObject") from exc
        except BotoCoreError as exc:
            raise translate(exc, "GetObject") from exc
        chunks: list[bytes] = []
        _read(response["Body"], chunks.append)
        return b"".join(chunks)

    def read_at_most(self, key: str, limit: int) -> bytes | None:
        """The first ``limit`` bytes of an object (a marker, read bounded: a huge one costs
        no more memory than a short one); None when it does not exist."""
        opened = self.open(key)
        if opened is None:
            return None
        stream, _ = opened
        try:
            return bytes(stream.read(limit))
        except (BotoCoreError, OSError) as exc:
            raise translate(exc, "GetObject") from exc
        finally:
            stream.close()

    def sha256(self, key: str) -> str | None:
        """The hex sha256 of an object's bytes, streamed; None when it does not exist."""
        opened = self.open(key)
        if opened is None:
            return None
        stream, _ = opened
        digest = hashlib.sha256()
        _read(stream, digest.update)
        return digest.hexdigest()

    def head(self, key: str) -> ObjectInfo | None:
        """What S3 says about an object, or None when it does not exist."""
        try:
            return ObjectInfo.from_response(key, self.client.head_object(Bucket=self.name, Key=key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise translate(exc, "HeadObject") from exc
        except BotoCoreError as exc:
            raise translate(exc, "HeadObject") from exc

    def etag(self, key: str) -> str | None:
        """The object's current ETag, or None when it does not exist."""
        head = self.head(key)
        return None if head is None else head.etag

    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        metadata: dict[str, str] | None = None,
        content_encoding: str | None = None,
        sha256: str | None = None,
    ) -> str:
        """Write an object, optionally conditionally; returns the new ETag. With ``sha256``
        (hex), S3 refuses the write unless the body has it, and keeps it as the checksum."""
        args: dict[str, Any] = {
            "Bucket": self.name,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
        }
        if if_match is not None:
            args["IfMatch"] = if_match
        if if_none_match:
            args["IfNoneMatch"] = "*"
        if metadata:
            args["Metadata"] = metadata
        if content_encoding:
            args["ContentEncoding"] = content_encoding
        if sha256 is not None:
            args["ChecksumAlgorithm"] = "SHA256"
            args["ChecksumSHA256"] = checksum_header(sha256)
        try:
            return str(self.client.put_object(**args)["ETag"])
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "PutObject") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.name, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "DeleteObject") from exc

    def list_prefixes(self, prefix: str = "") -> Iterator[str]:
        """Top-level "folders" under ``prefix``, without their trailing slash."""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=prefix, Delimiter="/"
            ):
                for entry in page.get("CommonPrefixes", ()):
                    yield entry["Prefix"][:-1]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "ListObjectsV2") from exc

    def list_objects(self, prefix: str, *, page_size: int = 1000) -> Iterator[ObjectInfo]:
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=prefix, PaginationConfig={"PageSize": page_size}
            ):
                for entry in page.get("Contents", ()):
                    yield ObjectInfo(
                        key=entry["Key"],
                        size=int(entry.get("Size", 0)),
                        last_modified=entry["LastModified"],
                        etag=entry.get("ETag", ""),
                    )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "ListObjectsV2") from exc

    def presign(self, key: str, *, method: str, expires_in: int) -> str:
        """A URL that lets its bearer GET (or HEAD) one object for ``expires_in`` seconds."""
        operation = "head_object" if method == "HEAD" else "get_object"
        return str(
            self.client.generate_presigned_url(
                operation, Params={"Bucket": self.name, "Key": key}, ExpiresIn=expires_in
            )
        )

    def put_parts(
        self,
        key: str,
        parts: Iterable[bytes],
        content_type: str,
        *,
        if_none_match: bool = False,
        on_part: Callable[[int], object] | None = None,
    ) -> None:
        """A multipart upload of ``parts`` (each at least 5 MiB but the last), completed
        conditionally when ``if_none_match``, and aborted on any failure, including one raised
        by the ``parts`` iterator itself (nothing half-written is left to pay for).
        ``on_part`` gets the number of bytes sent so far after each part. Each part carries
        its SHA-256, which S3 verifies (the object's checksum is then a checksum of those)."""
        common: dict[str, Any] = {"Bucket": self.name, "Key": key}
        try:
            created = self.client.create_multipart_upload(
                **common, ContentType=content_type, ChecksumAlgorithm="SHA256"
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "CreateMultipartUpload") from exc
        upload_id = created["UploadId"]
        operation = "UploadPart"
        try:
            sent: list[Any] = []
            done = 0
            for number, chunk in enumerate(parts, start=1):
                checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")
                answer = self.client.upload_part(
                    **common,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
                sent.append(
                    {"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": checksum}
                )
                done += len(chunk)
                if on_part is not None:
                    on_part(done)
            operation = "CompleteMultipartUpload"
            completion: dict[str, Any] = {"MultipartUpload": {"Parts": sent}}
            if if_none_match:
                completion["IfNoneMatch"] = "*"
            self.client.complete_multipart_upload(**common, UploadId=upload_id, **completion)
        except BaseException as exc:
            with suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(**common, UploadId=upload_id)
            if isinstance(exc, ClientError | BotoCoreError):
                raise translate(exc, operation) from exc
            raise
