"""Seeded benchmark data: real tiny distributions, synthetic derived data, and events.

Everything is deterministic (fixed seeds, fixed timestamps), so two runs seed the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from botocore.config import Config
from botocore.session import get_session

from serverless_pypi import documents
from serverless_pypi.documents import FileRecord, ProjectFiles
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.reindex.project import ProjectDocument
from serverless_pypi.storage import Bucket

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
HTML_ACCEPT = "text/html"
#: A compiled project's usual spread: one sdist and nine platform wheels per version.
WHEEL_TAGS = (
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-win_amd64",
    "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp312-cp312-musllinux_1_2_x86_64",
    "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-win_amd64",
)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


# -- API Gateway and S3/SNS events --------------------------------------------------------------
def http_event(
    path: str, accept: str | None = None, method: str = "GET", *, gzip: bool = True
) -> dict[str, Any]:
    """A payload-2.0 event as API Gateway's HTTP API builds it; ``gzip``: the client sends
    ``Accept-Encoding: gzip, deflate`` as pip and uv do."""
    headers = {"accept": accept} if accept else {}
    if gzip:
        headers["accept-encoding"] = "gzip, deflate"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.example.test",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": "bench-request",
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def s3_created_event(bucket: str, key: str) -> dict[str, Any]:
    """An S3 ObjectCreated:Put notification for one key, delivered through SNS."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": 1}},
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench",
                    "Message": json.dumps({"Records": [record]}),
                },
            }
        ]
    }


# -- real distributions -----------------------------------------------------------------------
def dist_name(project: str) -> str:
    return project.replace("-", "_")


def _metadata(project: str, version: str) -> bytes:
    return (
        f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
        "Requires-Python: >=3.9\nRequires-Dist: packaging>=24\n\n"
    ).encode()


def wheel(project: str, version: str) -> tuple[str, bytes]:
    """(filename, bytes) of a minimal, valid pure-Python wheel."""
    dist = dist_name(project)
    info = f"{dist}-{version}.dist-info"
    members = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": _metadata(project, version),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
        f"{info}/RECORD": b"",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2025, 1, 1, 0, 0, 0)), data)
    return f"{dist}-{version}-py3-none-any.whl", buffer.getvalue()


def sdist(project: str, version: str) -> tuple[str, bytes]:
    """(filename, bytes) of a minimal sdist holding PKG-INFO."""
    dist = dist_name(project)
    data = _metadata(project, version)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo(f"{dist}-{version}/PKG-INFO")
        info.size, info.mtime = len(data), 1_735_689_600
        archive.addfile(info, io.BytesIO(data))
    return f"{dist}-{version}.tar.gz", buffer.getvalue()


def project_objects(project: str) -> list[tuple[str, bytes]]:
    """The three files each seeded project has: an sdist and a wheel of 1.0, a wheel of 1.1."""
    files = [sdist(project, "1.0"), wheel(project, "1.0"), wheel(project, "1.1")]
    return [(f"{project}/{filename}", data) for filename, data in files]


def seed_client(endpoint_url: str) -> Any:
    """A plain client for seeding, with a connection pool wide enough for parallel puts."""
    return get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=16),
    )


def create_bucket(client: Any, name: str) -> None:
    client.create_bucket(Bucket=name)


def put_many(client: Any, bucket: str, objects: Iterable[tuple[str, bytes]]) -> int:
    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])

    with ThreadPoolExecutor(8) as pool:
        return sum(1 for _ in pool.map(put, objects))


def seed_projects(client: Any, bucket: str, count: int) -> int:
    """``count`` projects x 3 real files; returns the number of objects written."""
    objects = (obj for i in range(count) for obj in project_objects(project_name(i)))
    return put_many(client, bucket, objects)


def project_name(i: int) -> str:
    return f"proj-{i:05d}"


# -- synthetic derived data for large project pages --------------------------------------------
def synthetic_files(project: str, count: int) -> ProjectFiles:
    """``count`` file records as the reindex Lambda would derive them for a compiled project:
    per version one sdist and nine platform wheels (long filenames, like real ones)."""
    rng = random.Random(count)
    dist = dist_name(project)
    files = ProjectFiles()
    i = 0
    version_index = 0
    while i < count:
        version = f"{1 + version_index // 100}.{version_index % 100}.0"
        names = [f"{dist}-{version}.tar.gz"] + [f"{dist}-{version}-{tag}.whl" for tag in WHEEL_TAGS]
        for filename in names:
            if i >= count:
                break
            key = f"{project}/{filename}"
            is_wheel = filename.endswith(".whl")
            files[key] = FileRecord(
                etag='"' + hashlib.md5(key.encode(), usedforsecurity=False).hexdigest() + '"',
                size=rng.randint(50_000, 5_000_000),
                sha256=hashlib.sha256(key.encode()).hexdigest(),
                upload_time=(EPOCH + timedelta(hours=version_index, seconds=i)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"
                ),
                requires_python=">=3.9",
                metadata_sha256=hashlib.sha256(b"m" + key.encode()).hexdigest()
                if is_wheel
                else None,
            )
            i += 1
        version_index += 1
    return files


def publish_synthetic_project(bucket: Bucket, project: str, count: int) -> int:
    """Write the project document and its pages as the reindex Lambda does after an update
    (conditional write of the document, then its pages rendered and written with the state
    ETag marker). Returns the document's size in bytes."""
    files = synthetic_files(project, count)
    ProjectDocument(bucket, project).update(lambda _old: files)
    return len(documents.dump_project(project, files))


def publish_root(app: ReindexApp, projects: Iterable[str]) -> None:
    """The root page naming ``projects``, written through the index's own conditional update."""
    names = tuple(sorted(set(projects)))
    app.root.update(lambda _old: names)
