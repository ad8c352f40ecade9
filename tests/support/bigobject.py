"""An S3 endpoint on 127.0.0.1 that is moto server for every request but the reads of one key,
whose bytes are a ``BigWheel`` generated on the fly: a 5 GB object costs no disk and no memory.

GET and HEAD of that key answer as S3 does: ``Range`` (206, ``Content-Range``), ``If-Match``
(412), and with ``checksum`` the object's SHA-256 as a full-object checksum, only on a whole
object's GET or HEAD with ``x-amz-checksum-mode: ENABLED`` (S3 returns none for a range).
Everything else is forwarded to moto unchanged. ``log`` records each read of the key.
"""

from __future__ import annotations

import base64
import http.client
import re
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

from support.bigwheel import BigWheel

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_STEP = 64 * 1024
ETAG = '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
LAST_MODIFIED = "Wed, 02 Dec 2026 10:00:00 GMT"


@dataclass
class Read:
    method: str
    range: str | None
    sent: int  # body bytes written before the reader stopped reading


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A reader that closes a body it does not want resets the connection: expected."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class BigObjectProxy:
    def __init__(
        self, moto_url: str, bucket: str, key: str, wheel: BigWheel, *, sha256: str | None = None
    ) -> None:
        self.moto = urlsplit(moto_url)
        self.path = f"/{bucket}/{quote(key)}"
        self.wheel = wheel
        self.sha256 = sha256
        self.log: list[Read] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._serve(self)

            def do_HEAD(self) -> None:
                proxy._serve(self)

            def do_PUT(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._forward(self)

            def do_DELETE(self) -> None:
                proxy._forward(self)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> BigObjectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        connection = http.client.HTTPConnection(self.moto.hostname, self.moto.port, timeout=60)
        try:
            connection.request(handler.command, handler.path, body, dict(handler.headers))
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        handler.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        if urlsplit(handler.path).path != self.path:
            self._forward(handler)
            return
        size = self.wheel.size
        if_match = handler.headers.get("If-Match")
        if if_match is not None and if_match.strip() != ETAG:
            handler.send_response(412)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            self.log.append(Read(handler.command, handler.headers.get("Range"), 0))
            return
        start, end, status = 0, size, 200
        byte_range = handler.headers.get("Range")
        match = _RANGE.match(byte_range or "")
        if match:
            first, last = match.groups()
            if first:
                start, end = int(first), min(size, int(last) + 1 if last else size)
            else:
                start = max(0, size - int(last))
            status = 206
        handler.send_response(status)
        handler.send_header("Content-Length", str(end - start))
        handler.send_header("ETag", ETAG)
        handler.send_header("Last-Modified", LAST_MODIFIED)
        handler.send_header("Content-Type", "application/zip")
        handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        elif self.sha256 and handler.headers.get("x-amz-checksum-mode") == "ENABLED":
            digest = base64.b64encode(bytes.fromhex(self.sha256)).decode()
            handler.send_header("x-amz-checksum-sha256", digest)
            handler.send_header("x-amz-checksum-type", "FULL_OBJECT")
        handler.end_headers()
        read = Read(handler.command, byte_range, 0)
        self.log.append(read)
        if handler.command == "HEAD":
            return
        try:
            offset = start
            while offset < end:  # small steps first: a reader that stops early is counted closely
                step = _STEP if offset - start < 64 * _STEP else 16 * _STEP
                data = self.wheel.read_at(offset, min(step, end - offset))
                handler.wfile.write(data)
                read.sent += len(data)
                offset += len(data)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
