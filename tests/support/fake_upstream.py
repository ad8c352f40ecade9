"""A small upstream index on loopback: a stdlib HTTP server over a folder of distributions.

It serves what PyPI serves to the proxy: PEP 691 JSON project pages (with sizes, hashes,
upload times, Requires-Python and core-metadata) or PEP 503 HTML, the files, and each wheel's
METADATA; non-canonical names redirect to the canonical page. ``hostile`` turns one project's
page into an attack (bad JSON, a huge page, a redirect to another host, a wrong sha256, hostile
names and URLs). ``requests`` records every path asked, so a test can prove the upstream was
never asked about a name.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from support import dists

JSON_TYPE = "application/vnd.pypi.simple.v1+json"

#: The source of a PEP 517 backend module that builds any project from its PKG-INFO (the tiny
#: backend of ``dists``, with its name and version read at build time).
GENERIC_BACKEND = (
    dists.backend_source("placeholder", "0")
    + """
import email

with open("PKG-INFO", encoding="utf-8") as _f:
    _info = email.message_from_string(_f.read())
NAME, VERSION = _info["Name"], _info["Version"]
REQUIRES = tuple(_info.get_all("Requires-Dist") or ())
DIST = NAME.lower().replace("-", "_").replace(".", "_")
"""
)


def backend_wheel(name: str, version: str) -> tuple[str, bytes]:
    """A wheel of a real (tiny) build backend package: one module ``<dist>.py``, so a project
    builds with ``build-backend = "<dist>"`` once the wheel is installed."""
    dist = name.replace("-", "_")
    data = dists.wheel_bytes(name, version, modules={f"{dist}.py": GENERIC_BACKEND.encode()})
    # wheel_bytes also writes <dist>/__init__.py, which would shadow <dist>.py: drop it.
    return dists.wheel_filename(name, version), _without(data, f"{dist}/__init__.py")


def _without(wheel: bytes, member: str) -> bytes:
    import io

    source = zipfile.ZipFile(io.BytesIO(wheel))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == member:
                continue
            data = source.read(info)
            if info.filename.endswith("/RECORD"):
                lines = [ln for ln in data.decode().splitlines() if not ln.startswith(member + ",")]
                data = ("\n".join(lines) + "\n").encode()
            target.writestr(info, data)
    return out.getvalue()


@dataclass
class Entry:
    filename: str
    sha256: str
    size: int
    uploaded: datetime | None
    requires_python: str | None = None
    metadata: bytes | None = None


def _project(filename: str) -> str:
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[0]
    return parse_sdist_filename(filename)[0]


def _wheel_metadata(data: bytes) -> bytes | None:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".dist-info/METADATA"):
                return archive.read(name)
    return None


class FakeUpstream:
    def __init__(self, root: Path) -> None:
        self.files_dir = root / "upstream-files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.projects: dict[str, list[Entry]] = {}
        self.hostile: dict[str, str] = {}
        self.json = True
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    # -- content --------------------------------------------------------------------------
    def add(
        self, filename: str, data: bytes, *, age: timedelta | None = timedelta(days=30)
    ) -> Entry:
        """A file uploaded ``age`` ago (None: no upload time on the page)."""
        (self.files_dir / filename).write_bytes(data)
        entry = Entry(
            filename=filename,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            uploaded=None if age is None else datetime.now(UTC) - age,
            metadata=_wheel_metadata(data) if filename.endswith(".whl") else None,
        )
        self.projects.setdefault(_project(filename), []).append(entry)
        return entry

    def add_wheel(self, name: str, version: str, **kwargs: Any) -> Entry:
        age = kwargs.pop("age", timedelta(days=30))
        data = dists.wheel_bytes(name, version, **kwargs)
        return self.add(dists.wheel_filename(name, version), data, age=age)

    def asked_about(self, project: str) -> bool:
        return any(path.startswith(f"/simple/{project}/") for path in self.requests)

    # -- server ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def index_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def start(self, port: int = 0) -> FakeUpstream:
        upstream = self

        class Handler(_Handler):
            owner = upstream

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- pages ----------------------------------------------------------------------------
    def page(self, project: str, wants_json: bool) -> tuple[bytes, str]:
        entries = self.projects[project]
        mode = self.hostile.get(project)
        files = []
        for e in entries:
            sha256 = "0" * 64 if mode == "bad-sha" else e.sha256
            item: dict[str, Any] = {
                "filename": e.filename,
                "url": f"../../files/{e.filename}",
                "hashes": {"sha256": sha256},
                "size": e.size,
                "requires-python": e.requires_python,
                "yanked": False,
            }
            if e.uploaded is not None:
                item["upload-time"] = e.uploaded.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if e.metadata is not None:
                item["core-metadata"] = {"sha256": hashlib.sha256(e.metadata).hexdigest()}
            files.append(item)
        if mode == "hostile-names":
            files += [
                {"filename": "<script>alert(1)</script>.whl", "url": "x", "hashes": {}},
                {
                    "filename": f"{project}-6.6-py3-none-any.whl",
                    "url": "javascript:alert(1)",
                    "hashes": {"sha256": "a" * 64},
                },
                {
                    "filename": f"{project}-6.7-py3-none-any.whl",
                    "url": "file:///etc/passwd",
                    "hashes": {"sha256": "a" * 64},
                },
                {
                    "filename": f"{project}-6.8-py3-none-any.whl",
                    "url": "http://169.254.169.254/latest/meta-data",
                    "hashes": {"sha256": "a" * 64},
                },
                {
                    "filename": f"{project}-6.9-py3-none-any.whl",
                    "url": "../../files/x.whl",
                    "hashes": {"sha256": "a" * 64},
                    "yanked": '"><script>alert(1)</script>',
                    "requires-python": ">=3",
                },
                {
                    "filename": "other-1.0-py3-none-any.whl",
                    "url": "../../files/other-1.0-py3-none-any.whl",
                    "hashes": {"sha256": "a" * 64},
                },
            ]
        if wants_json:
            body = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
            return json.dumps(body).encode(), JSON_TYPE
        links = []
        for f in files:
            attrs = f' href="{html.escape(f["url"])}#sha256={f["hashes"].get("sha256", "")}"'
            if f.get("requires-python"):
                attrs += f' data-requires-python="{html.escape(f["requires-python"])}"'
            if f.get("core-metadata"):
                attrs += f' data-core-metadata="sha256={f["core-metadata"]["sha256"]}"'
            links.append(f"<a{attrs}>{html.escape(f['filename'])}</a><br>")
        text = "<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>"
        return text.encode(), "text/html"

    def file(self, filename: str) -> bytes | None:
        base = filename.removesuffix(".metadata")
        for entries in self.projects.values():
            for e in entries:
                if e.filename == base:
                    if filename.endswith(".metadata"):
                        return e.metadata
                    return (self.files_dir / base).read_bytes()
        return None


class _Handler(BaseHTTPRequestHandler):
    owner: FakeUpstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        owner = self.owner
        owner.requests.append(self.path)
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "simple":
            name = parts[1]
            project = canonicalize_name(name)
            if name != project:
                return self._send(301, b"", "text/plain", {"Location": f"/simple/{project}/"})
            if project not in owner.projects:
                return self._send(404, b"not found", "text/plain")
            mode = owner.hostile.get(project)
            if mode == "bad-json":
                return self._send(200, b'{"meta": {"api-version": "1.1"}, "files": [', JSON_TYPE)
            if mode == "huge":
                return self._send_huge()
            if mode == "redirect":
                target = f"http://localhost:{owner.port}/simple/{project}/"
                return self._send(302, b"", "text/plain", {"Location": target})
            wants_json = owner.json and JSON_TYPE in (self.headers.get("Accept") or "")
            body, content_type = owner.page(project, wants_json)
            return self._send(200, body, content_type, head=head)
        if len(parts) == 2 and parts[0] == "files":
            data = owner.file(parts[1])
            if data is None:
                return self._send(404, b"not found", "text/plain")
            return self._send(200, data, "application/octet-stream", head=head)
        self._send(404, b"not found", "text/plain")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_huge(self) -> None:
        """More than the proxy reads (32 MiB), never finished: it must stop reading."""
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        self.end_headers()
        chunk = b" " * (1024 * 1024)
        try:
            self.wfile.write(b'{"meta": {"api-version": "1.1"}, "files": [], "pad": "')
            for _ in range(40):
                self.wfile.write(chunk)
        except OSError:
            pass
