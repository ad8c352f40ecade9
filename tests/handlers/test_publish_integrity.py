"""A published file cannot be replaced or contradicted, through the API or the CLI.

Issue 11 items 1, 4 and 6: immutability by file identity (not filename spelling), canonical
filenames for new uploads, metadata that agrees with the filename, and every digest checked.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import metadata_text, sdist_bytes, wheel_bytes, write
from support.forms import multipart, upload_fields

from serverless_pypi import config, publish
from serverless_pypi.api.app import ApiApp
from serverless_pypi.cli.bucket import upload_one
from serverless_pypi.errors import Conflict, Refused
from serverless_pypi.storage import Bucket

ORIGINAL = "dup-1.0-py3-none-any.whl"
#: Spellings of the same file (name, version, tags) as ORIGINAL.
VARIANTS = [
    "dup-v1.0-py3-none-any.whl",
    "Dup-1.0-py3-none-any.whl",
    "dup-01.0-py3-none-any.whl",
    "dup-1.0.0-py3-none-any.whl",
]


@pytest.fixture
def app(bucket: Bucket) -> ApiApp:
    return ApiApp(config.Settings(bucket=bucket.name, uploads="unauthenticated-insecure"), bucket)


def post(app: ApiApp, filename: str, data: bytes, **overrides: str) -> dict[str, Any]:
    fields = dict(upload_fields("dup", "1.0", filename, data))
    fields.update(overrides)
    content_type, body = multipart(list(fields.items()), (filename, data))
    event = http_event("POST", "/legacy/", headers={"Content-Type": content_type}, body=body)
    return app.handle(event)


def keys(bucket: Bucket) -> dict[str, str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_variant_spelling_cannot_replace_a_published_file(
    app: ApiApp, bucket: Bucket, variant: str
) -> None:
    assert post(app, ORIGINAL, wheel_bytes("dup", "1.0"))["statusCode"] == 200
    before = keys(bucket)
    response = post(app, variant, wheel_bytes("dup", "1.0", payload=b"evil"))
    assert response["statusCode"] in (400, 409), response["body"]
    assert keys(bucket) == before
    stored = bucket.get(f"dup/{ORIGINAL}")
    assert stored is not None and stored[0] == wheel_bytes("dup", "1.0")


def test_variant_already_in_the_bucket_is_a_409_for_the_canonical_name(
    app: ApiApp, bucket: Bucket
) -> None:
    """A file dropped straight into the bucket under a variant spelling still owns its
    identity: uploading other bytes under the canonical name is a 409 that names it."""
    bucket.put("Dup/dup-01.0-py3-none-any.whl", wheel_bytes("dup", "1.0"), "application/zip")
    response = post(app, ORIGINAL, wheel_bytes("dup", "1.0", payload=b"other"))
    assert response["statusCode"] == 409
    assert "already exists with different content" in response["body"]
    assert "dup-01.0-py3-none-any.whl" in response["body"]
    # The same bytes are the same file: success, and nothing new is written.
    before = keys(bucket)
    assert post(app, ORIGINAL, wheel_bytes("dup", "1.0"))["statusCode"] == 200
    assert keys(bucket) == before


@pytest.mark.parametrize(
    ("filename", "canonical"),
    [
        ("Dup-1.0-py3-none-any.whl", "dup-1.0-py3-none-any.whl"),
        ("dup-01.0-py3-none-any.whl", "dup-1.0-py3-none-any.whl"),
        ("dup-1.0.tar.gz".replace("dup", "Dup"), "dup-1.0.tar.gz"),
        ("dup-1.0.zip", "dup-1.0.tar.gz"),
    ],
)
def test_non_canonical_filenames_are_refused_with_the_canonical_one(
    app: ApiApp, bucket: Bucket, filename: str, canonical: str
) -> None:
    data = wheel_bytes("dup", "1.0") if filename.endswith(".whl") else sdist_bytes("dup", "1.0")
    response = post(app, filename, data)
    assert response["statusCode"] == 400
    assert f"rename it {canonical!r}" in response["body"]
    assert keys(bucket) == {}


def test_other_tags_and_build_numbers_are_other_files(app: ApiApp, bucket: Bucket) -> None:
    assert post(app, ORIGINAL, wheel_bytes("dup", "1.0"))["statusCode"] == 200
    for other in ("dup-1.0-1-py3-none-any.whl", "dup-1.0-py2.py3-none-any.whl"):
        response = post(app, other, wheel_bytes("dup", "1.0", payload=other.encode()))
        assert response["statusCode"] == 200, response["body"]
    assert len(keys(bucket)) == 3


@pytest.mark.parametrize(
    ("filename", "metadata_name", "metadata_version", "message"),
    [
        ("beta-3.0-py3-none-any.whl", "alpha", "3.0", "names project 'alpha', its filename 'beta'"),
        ("beta-3.0-py3-none-any.whl", "beta", "2.9", "names version '2.9', its filename '3.0'"),
        ("beta-3.0.tar.gz", "alpha", "3.0", "names project 'alpha', its filename 'beta'"),
        ("beta-3.0.tar.gz", "beta", "3.1", "names version '3.1', its filename '3.0'"),
    ],
)
def test_metadata_that_contradicts_the_filename_is_refused(
    app: ApiApp,
    bucket: Bucket,
    filename: str,
    metadata_name: str,
    metadata_version: str,
    message: str,
) -> None:
    if filename.endswith(".whl"):
        data = _wheel_with_metadata(metadata_name, metadata_version)
    else:
        data = sdist_bytes(metadata_name, metadata_version)
        data = _sdist_renamed(data, f"{metadata_name}-{metadata_version}", "beta-3.0")
    response = post(app, filename, data, name="beta", version="3.0")
    assert response["statusCode"] == 400
    assert message in response["body"]
    assert keys(bucket) == {}


def _wheel_with_metadata(name: str, version: str) -> bytes:
    """A ``beta-3.0`` wheel (dist-info and all) whose METADATA names ``name`` ``version``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("beta-3.0.dist-info/METADATA", metadata_text(name, version))
        archive.writestr("beta-3.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
        archive.writestr("beta-3.0.dist-info/RECORD", "")
    return buffer.getvalue()


def _sdist_renamed(data: bytes, old_root: str, new_root: str) -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as source,
        tarfile.open(fileobj=buffer, mode="w:gz") as target,
    ):
        for member in source:
            extracted = source.extractfile(member)
            member.name = member.name.replace(old_root, new_root, 1)
            target.addfile(member, extracted)
    return buffer.getvalue()


@pytest.mark.parametrize("field", ["md5_digest", "blake2_256_digest", "sha256_digest"])
def test_every_digest_sent_must_match(app: ApiApp, bucket: Bucket, field: str) -> None:
    data = wheel_bytes("dup", "1.0")
    wrong = hashlib.sha256(b"something else").hexdigest()
    response = post(app, ORIGINAL, data, **{field: wrong[: 32 if field == "md5_digest" else 64]})
    assert response["statusCode"] == 400
    assert field in response["body"]
    assert keys(bucket) == {}
    right = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert post(app, ORIGINAL, data, md5_digest=right)["statusCode"] == 200


# -- the CLI: the same pipeline ------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS[1:])  # "dup-v1.0" is no valid filename on disk
def test_cli_upload_cannot_replace_a_published_file_either(
    bucket: Bucket, tmp_path: Path, variant: str
) -> None:
    original = write(tmp_path, ORIGINAL, wheel_bytes("dup", "1.0"))
    assert "uploaded to" in upload_one(bucket, original, dry_run=False)
    before = keys(bucket)
    (tmp_path / "variant").mkdir()
    other = write(tmp_path / "variant", variant, wheel_bytes("dup", "1.0", payload=b"evil"))
    with pytest.raises((Refused, Conflict)):
        upload_one(bucket, other, dry_run=False)
    assert keys(bucket) == before


def test_cli_refuses_a_canonical_upload_over_a_dropped_variant(
    bucket: Bucket, tmp_path: Path
) -> None:
    bucket.put("dup/Dup-1.0-py3-none-any.whl", wheel_bytes("dup", "1.0"), "application/zip")
    path = write(tmp_path, ORIGINAL, wheel_bytes("dup", "1.0", payload=b"new"))
    with pytest.raises(Conflict, match="already exists with different content"):
        upload_one(bucket, path, dry_run=False)
    with pytest.raises(Conflict):
        upload_one(bucket, path, dry_run=True)


def test_cli_and_api_refuse_contradicting_metadata_in_the_same_words(tmp_path: Path) -> None:
    data = _wheel_with_metadata("alpha", "3.0")
    path = write(tmp_path, "beta-3.0-py3-none-any.whl", data)
    with pytest.raises(Refused) as from_bytes:
        publish.check(path.name, io.BytesIO(data))
    with pytest.raises(Refused) as from_file:
        publish.check_file(path)
    assert from_bytes.value.message == from_file.value.message
