"""The data directory: a disk mirror of the embedded (in-memory) moto bucket.

Every S3 notification makes the disk copy of that key match the object's *current* state in
moto (present → write, missing → delete), so duplicated, reordered or concurrent events all end
in the same result. At start, everything on disk is put back into moto before notifications are
switched on.

Layout (flat, one file per object plus a JSON sidecar that holds the real key)::

    DIR/format            "serverless-pypi-data 1"
    DIR/lock              flock'ed while a server uses the directory
    DIR/objects/<name>    object bytes
    DIR/meta/<name>.json  {"key", "content_type", "metadata", ...}
    DIR/tmp/              partial writes, renamed into place (same filesystem)

``<name>`` is the key with everything but ``[a-z0-9_.~-]`` percent-encoded (upper case letters
too, so the names stay distinct on case-insensitive filesystems); ``.``/``..`` become ``%2E``
runs, and names longer than 200 bytes become ``=<sha256 of the key>``. No name contains ``/``,
so no key can leave the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("serverless_pypi.local")

FORMAT = "serverless-pypi-data 1"
MAX_NAME_BYTES = 200  # leaves room for ".json" under the usual 255-byte limit
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-~")
_CHUNK = 1024 * 1024
#: (sidecar field, S3 GetObject/PutObject parameter) pairs that are persisted.
_HEADERS = (
    ("content_type", "ContentType"),
    ("cache_control", "CacheControl"),
    ("content_encoding", "ContentEncoding"),
    ("content_disposition", "ContentDisposition"),
    ("content_language", "ContentLanguage"),
)


class DataDirError(RuntimeError):
    """The data directory cannot be used (busy, foreign format, unwritable)."""


def file_name(key: str) -> str:
    """A safe, injective, case-insensitively distinct file name for an S3 key."""
    if not key:
        raise ValueError("empty key")
    name = "".join(
        c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in key
    )
    if name in (".", ".."):
        name = name.replace(".", "%2E")  # never produced otherwise: "." is a safe character
    if len(name) > MAX_NAME_BYTES:
        name = "=" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return name


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    path: Path
    meta: dict[str, Any]


class DataDir:
    """One data directory, locked for the lifetime of this object."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.meta = root / "meta"
        self.tmp = root / "tmp"
        try:
            for d in (self.objects, self.meta, self.tmp):
                d.mkdir(parents=True, exist_ok=True)
            marker = root / "format"
            if marker.exists():
                if marker.read_text(encoding="utf-8").strip() != FORMAT:
                    raise DataDirError(f"{root} holds data in an unknown format")
            else:
                marker.write_text(FORMAT + "\n", encoding="utf-8")
            self._lock_file = open(root / "lock", "a+b")  # noqa: SIM115 (held until close)
        except OSError as exc:
            raise DataDirError(f"cannot use data directory {root}: {exc}") from exc
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise DataDirError(f"{root} is in use by another serverless-pypi serve") from None
        for leftover in self.tmp.iterdir():  # partial writes of a killed process
            with contextlib.suppress(OSError):
                leftover.unlink()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def _paths(self, key: str) -> tuple[Path, Path]:
        name = file_name(key)
        return self.objects / name, self.meta / f"{name}.json"

    def _replace(self, target: Path, write: Any) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def save(self, key: str, body: IO[bytes], meta: dict[str, Any]) -> None:
        """Write the object, then its sidecar (the sidecar is what makes it part of a restore)."""
        data_path, meta_path = self._paths(key)
        self._replace(data_path, lambda f: shutil.copyfileobj(body, f, _CHUNK))
        sidecar = json.dumps({**meta, "key": key}, ensure_ascii=False, sort_keys=True)
        self._replace(meta_path, lambda f: f.write(sidecar.encode("utf-8")))

    def remove(self, key: str) -> None:
        data_path, meta_path = self._paths(key)
        for path in (meta_path, data_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def entries(self) -> Iterator[StoredObject]:
        """Every complete object on disk; broken sidecars are logged and skipped."""
        for meta_path in sorted(self.meta.glob("*.json")):
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                key = meta["key"]
                if not isinstance(key, str) or meta_path.name != f"{file_name(key)}.json":
                    raise ValueError("sidecar does not match its file name")
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("skipping an unreadable sidecar", extra={"file": meta_path.name})
                continue
            data_path = self.objects / meta_path.name.removesuffix(".json")
            if data_path.is_file():
                yield StoredObject(key, data_path, meta)
            else:
                log.warning("skipping a sidecar without data", extra={"file": meta_path.name})


class Mirror:
    """Makes the disk copy of one key match its current state in S3 (idempotent)."""

    def __init__(self, client: Any, bucket: str, data: DataDir, stripes: int = 64) -> None:
        self.client = client
        self.bucket = bucket
        self.data = data
        self._locks = [threading.Lock() for _ in range(stripes)]

    def __call__(self, key: str) -> None:
        # Read-then-write under a per-key lock: whichever sync runs last read the newest state.
        with self._locks[hash(key) % len(self._locks)]:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except self.client.exceptions.NoSuchKey:
                self.data.remove(key)
                log.debug("mirror: removed", extra={"key": key})
                return
            meta: dict[str, Any] = {"metadata": response.get("Metadata") or {}}
            for field, param in _HEADERS:
                if response.get(param):
                    meta[field] = response[param]
            body = response["Body"]
            try:
                self.data.save(key, body, meta)
            finally:
                body.close()
            log.debug("mirror: saved", extra={"key": key})


def restore(client: Any, bucket: str, data: DataDir, workers: int = 4) -> int:
    """Put every object of the data directory into the bucket; return how many."""

    def put(obj: StoredObject) -> bool:
        params: dict[str, Any] = {"Bucket": bucket, "Key": obj.key}
        metadata = obj.meta.get("metadata")
        if isinstance(metadata, dict):
            params["Metadata"] = {str(k): str(v) for k, v in metadata.items()}
        for field, param in _HEADERS:
            if isinstance(obj.meta.get(field), str):
                params[param] = obj.meta[field]
        try:
            with obj.path.open("rb") as body:
                client.put_object(Body=body, **params)
        except Exception:
            log.exception("could not restore an object", extra={"key": obj.key})
            return False
        return True

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(put, data.entries()))
