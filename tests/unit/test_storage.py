"""S3 failures become StoreUnavailable, transient or not, even mid-body."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from serverless_pypi.errors import StoreUnavailable
from serverless_pypi.storage import Bucket


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
