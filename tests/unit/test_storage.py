"""S3 failures become StoreUnavailable, transient or not, even mid-body; which S3 checksums
are a file's SHA-256."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.session import get_session

from serverless_pypi.errors import StoreUnavailable
from serverless_pypi.storage import Bucket, full_object_sha256, on_aws


class FailingBody:
    def __init__(self) -> None:
        self.closed = False
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise ReadTimeoutError(endpoint_url="https://s3.example")
        return b"first chunk"

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("operation", ["get", "sha256"])
def test_a_body_that_fails_midway_is_a_503_and_is_closed(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key="k", Body=b"x")
    body = FailingBody()
    real = bucket.client.get_object

    def get_object(**kwargs: Any) -> dict[str, Any]:
        response = real(**kwargs)
        response["Body"] = body
        return response

    monkeypatch.setattr(bucket.client, "get_object", get_object)
    with pytest.raises(StoreUnavailable) as failure:
        getattr(bucket, operation)("k")
    assert failure.value.transient  # the API answers 503
    assert body.closed


def test_missing_objects_are_none(bucket: Bucket) -> None:
    assert bucket.get("absent") is None
    assert bucket.sha256("absent") is None
    assert bucket.head("absent") is None


# -- S3's SHA-256 checksums --------------------------------------------------------------------

SHA = hashlib.sha256(b"wheel bytes").hexdigest()


def test_a_sha256_sent_with_a_put_comes_back_as_the_objects_sha256(bucket: Bucket) -> None:
    bucket.put("pkg/a.whl", b"wheel bytes", "application/zip", sha256=SHA)
    opened = bucket.open("pkg/a.whl")
    assert opened is not None
    opened[0].close()
    assert opened[1].sha256 == SHA
    assert bucket.trust_checksums  # in-process moto answers on s3.amazonaws.com


def test_an_untrusted_bucket_takes_no_checksum_from_s3(bucket: Bucket) -> None:
    bucket.put("pkg/a.whl", b"wheel bytes", "application/zip", sha256=SHA)
    untrusted = Bucket(bucket.client, bucket.name, trust_checksums=False)
    opened = untrusted.open("pkg/a.whl")
    assert opened is not None
    assert opened[0].read() == b"wheel bytes"
    assert opened[1].sha256 is None


def test_a_multipart_objects_sha256_is_a_checksum_of_checksums_so_not_trusted(
    bucket: Bucket,
) -> None:
    parts = [b"a" * (5 * 1024 * 1024), b"b" * 10]
    bucket.put_parts("pkg/big.whl", iter(parts), "application/zip")
    response = bucket.client.get_object(
        Bucket=bucket.name, Key="pkg/big.whl", ChecksumMode="ENABLED"
    )
    response["Body"].close()
    # Each part was sent with its SHA-256: the object's is the SHA-256 of those, "-2".
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert response["ChecksumSHA256"] == base64.b64encode(composite).decode() + "-2"
    assert response["ChecksumType"] == "COMPOSITE"
    opened = bucket.open("pkg/big.whl")
    assert opened is not None
    opened[0].close()
    assert opened[1].sha256 is None


B64 = base64.b64encode(bytes.fromhex(SHA)).decode()


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"ChecksumSHA256": B64, "ChecksumType": "FULL_OBJECT", "ETag": '"abc"'}, SHA),
        ({"ChecksumSHA256": B64, "ETag": '"abc"'}, SHA),  # moto sends no type for a PutObject
        ({"ChecksumSHA256": B64, "ChecksumType": "COMPOSITE", "ETag": '"abc"'}, None),
        ({"ChecksumSHA256": B64 + "-3", "ETag": '"abc"'}, None),
        ({"ChecksumSHA256": B64, "ETag": '"abc-3"'}, None),  # moto's HEAD of a multipart
        ({"ChecksumSHA256": B64[:-4], "ETag": '"abc"'}, None),  # not 32 bytes
        ({"ChecksumSHA256": "not base64!", "ETag": '"abc"'}, None),
        ({"ChecksumCRC32": "AAAAAA==", "ETag": '"abc"'}, None),
        ({}, None),
    ],
)
def test_only_a_full_object_sha256_is_the_files_sha256(
    response: dict[str, str], expected: str | None
) -> None:
    assert full_object_sha256(response) == expected


def test_only_aws_endpoints_are_trusted(bucket: Bucket) -> None:
    local = get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    assert not Bucket(local, "b").trust_checksums  # moto server, MinIO, ...: unverified claims
    assert Bucket(local, "b", trust_checksums=True).trust_checksums
    assert on_aws(bucket.client)


def test_a_range_is_read_only_from_the_object_it_was_asked_of(bucket: Bucket) -> None:
    etag = bucket.put("pkg/a.whl", b"0123456789", "application/zip")
    assert bucket.read_range("pkg/a.whl", 2, 3, etag=etag) == b"234"
    bucket.put("pkg/a.whl", b"other bytes", "application/zip")
    with pytest.raises(StoreUnavailable, match="changed while it was read") as changed:
        bucket.read_range("pkg/a.whl", 2, 3, etag=etag)
    assert changed.value.transient
    bucket.delete("pkg/a.whl")
    with pytest.raises(StoreUnavailable, match="changed while it was read"):
        bucket.read_range("pkg/a.whl", 2, 3, etag=etag)
