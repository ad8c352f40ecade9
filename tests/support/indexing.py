"""Publishing a file as S3 and its event would: the object, then its event to the reindexer."""

from __future__ import annotations

from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket
from support.s3events import s3_event


def publish(bucket: Bucket, reindex: ReindexApp, key: str, data: bytes) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)
    reindex.handle(s3_event(bucket.name, key))
