"""Publishing with real twine and uv against ``serverless-pypi serve``, then installing."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.clients import installed_version, new_venv, pip, required_tool, run, twine, upload_url
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename, write
from support.forms import multipart, upload_fields
from support.localserver import LocalIndex, wait_for


def bucket_keys(index: LocalIndex) -> set[str]:
    listed = index.s3().list_objects_v2(Bucket=index.bucket).get("Contents", [])
    return {o["Key"] for o in listed if not o["Key"].startswith(".index/")}


def wait_indexed(index: LocalIndex, project: str, filename: str) -> dict[str, object]:
    """Until the reindexer has indexed the file: a page made from a listing (before the first
    index of a project) names the file but has no hash yet."""

    def hashed() -> bool:
        entry = index.project_files(project).get(filename)
        return isinstance(entry, dict) and bool(entry.get("hashes"))

    wait_for(hashed, what=f"{filename} indexed")
    return index.project_files(project)[filename]


def test_twine_upload_then_pip_install(index: LocalIndex, tmp_path: Path) -> None:
    wheel = write(tmp_path, wheel_filename("pub-a", "1.0"), wheel_bytes("pub-a", "1.0"))
    sdist = write(tmp_path, sdist_filename("pub-a", "1.1"), sdist_bytes("pub-a", "1.1"))
    code, output = twine(index, tmp_path, wheel, sdist)
    assert code == 0, output
    entry = wait_indexed(index, "pub-a", wheel.name)
    assert entry["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    wait_indexed(index, "pub-a", sdist.name)
    python = new_venv(tmp_path)
    pip(index, tmp_path, python, "pub-a==1.0")
    assert installed_version(python, "pub_a") == "1.0"
    pip(index, tmp_path, python, "--no-binary", "pub-a", "pub-a==1.1")
    assert installed_version(python, "pub_a") == "1.1"

    # The same file again is fine (re-running a publish job).
    code, output = twine(index, tmp_path, wheel)
    assert code == 0, output
    # Different bytes under the same name are refused, and twine shows why.
    wheel.write_bytes(wheel_bytes("pub-a", "1.0", payload=b"changed"))
    before = bucket_keys(index)
    code, output = twine(index, tmp_path, wheel)
    assert code != 0
    assert "409" in output and "already exists" in output
    assert bucket_keys(index) == before


def post_form(index: LocalIndex, content_type: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        upload_url(index), data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _form(filename: str, data: bytes, **overrides: str | None) -> tuple[str, bytes]:
    fields = [
        (k, v) for k, v in upload_fields("pub-b", "1.0", filename, data) if k not in overrides
    ]
    fields += [(k, v) for k, v in overrides.items() if v is not None]
    return multipart(fields, (filename, data))


WHEEL_B = wheel_filename("pub-b", "1.0")
BAD = {
    "wrong digest": lambda: _form(WHEEL_B, wheel_bytes("pub-b", "1.0"), sha256_digest="0" * 64),
    "wrong name": lambda: _form(WHEEL_B, wheel_bytes("pub-b", "1.0"), name="other"),
    "wrong version": lambda: _form(WHEEL_B, wheel_bytes("pub-b", "1.0"), version="9"),
    "not an archive": lambda: _form(WHEEL_B, b"plain text"),
    "missing fields": lambda: _form(WHEEL_B, wheel_bytes("pub-b", "1.0"), filetype=None),
    "truncated body": lambda: (lambda ct, body: (ct, body[: len(body) - 40]))(
        *_form(WHEEL_B, wheel_bytes("pub-b", "1.0"))
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uploads_get_400_and_write_nothing(index: LocalIndex, case: str) -> None:
    before = bucket_keys(index)
    status, text = post_form(index, *BAD[case]())
    assert status == 400, (case, text)
    assert text.strip() and "Traceback" not in text
    assert bucket_keys(index) == before


def test_uv_publish_then_install(index: LocalIndex, tmp_path: Path) -> None:
    wheel = write(tmp_path, wheel_filename("pub-uv", "0.1"), wheel_bytes("pub-uv", "0.1"))
    command = [
        required_tool("uv"),
        "publish",
        "--publish-url",
        upload_url(index),
        "--username",
        "ci",
        "--password",
        "secret",
        str(wheel),
    ]
    result = run(command, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_indexed(index, "pub-uv", wheel.name)
    python = new_venv(tmp_path)
    pip(index, tmp_path, python, "pub-uv")
    assert installed_version(python, "pub_uv") == "0.1"


def test_twenty_concurrent_twine_uploads(index: LocalIndex, tmp_path: Path) -> None:
    files = [
        write(
            tmp_path,
            wheel_filename(f"many-{i % 4}", f"1.{i}"),
            wheel_bytes(f"many-{i % 4}", f"1.{i}"),
        )
        for i in range(20)
    ]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda f: twine(index, tmp_path, f), files))
    assert all(code == 0 for code, _ in results), [out for code, out in results if code]
    for path in files:
        project = path.name.split("-")[0].replace("_", "-")
        entry = wait_indexed(index, project, path.name)
        assert entry["hashes"] == {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
