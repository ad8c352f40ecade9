"""The local HTTP server: each request becomes a payload-2.0 event for the API handler.

It is threaded: requests (and keep-alive connections) are served concurrently. The reindex
handler is fed by the queue poller (``sqs.py``), never by a request to this server.
Paths under ``/_local/`` are reserved (a 404 that never reaches the authorizer or the API
handler; no project or API route can start with ``_``).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from serverless_pypi.local import events
from serverless_pypi.local.context import LocalContext

log = logging.getLogger("serverless_pypi.local")

RESERVED_PREFIX = "/_local/"
Handler = Callable[[dict[str, Any], Any], Any]


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, so that the server's URL is known before the server is made (the
    API's settings name it). Bound as ``HTTPServer`` binds its own."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(LocalServer.request_queue_size)
    except BaseException:
        listener.close()
        raise
    return listener


def loopback_url(address: tuple[Any, ...], scheme: str = "http") -> str:
    """A URL for a listening address that works from this machine (wildcard binds → loopback)."""
    host, port = str(address[0]), int(address[1])
    if host in ("0.0.0.0", ""):  # noqa: S104 (comparing, not binding)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


class LocalServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one API handler and (optionally) the Lambda authorizer
    that runs before it."""

    daemon_threads = True  # keep-alive connections must not hold up shutdown

    def __init__(
        self,
        listener: socket.socket,
        api: Handler,
        *,
        region: str = "us-east-1",
        authorizer: Handler | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.address_family = listener.family
        self.api = api
        self.region = region
        #: ``serve --auth``: the Lambda authorizer, called before the API for every request.
        self.authorizer = authorizer
        #: ``serve --tls-cert``: connections that start a TLS handshake get HTTPS; plain ones
        #: get a 400 that says so.
        self.tls = tls
        address = listener.getsockname()
        super().__init__(address[:2], _RequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_address = address
        self.server_name, self.server_port = str(address[0]), int(address[1])
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def loopback_url(self) -> str:
        return loopback_url(self.server_address, "https" if self.tls else "http")

    def finish_request(self, request: Any, client_address: Any) -> None:
        """In the request's own thread: the TLS handshake (so a slow client holds up nobody),
        when the connection starts one."""
        if self.tls is not None:
            request.settimeout(_RequestHandler.timeout)
            try:
                first = request.recv(1, socket.MSG_PEEK)
                if first == b"\x16":  # a TLS handshake record
                    request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
            try:
                super().finish_request(request, client_address)
            finally:
                request.close()
            return
        super().finish_request(request, client_address)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="local-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"
    server_version = "serverless-pypi-local"

    def version_string(self) -> str:
        return self.server_version

    timeout = 120  # idle keep-alive connections are dropped after this

    def _dispatch(self) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        path = self.path.partition("?")[0]
        status = self._serve(request_id)
        log.info(
            "http",
            extra={
                "method": self.command,
                "path": path[:200],  # never the query string
                "status": status,
                "ms": round((time.monotonic() - started) * 1000, 1),
                "api_request_id": request_id,
            },
        )

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _serve(self, request_id: str) -> int:
        try:
            raw_path, _ = events.split_target(self.path)
        except events.BadRequest:
            return self._text(400, "Bad request: malformed request target.")
        if self.server.tls is not None and not isinstance(self.connection, ssl.SSLSocket):
            self.close_connection = True
            return self._text(400, "Bad request: this server speaks HTTPS.")
        if raw_path.startswith(RESERVED_PREFIX):
            self.close_connection = True  # its body, if any, is never read
            return self._text(404, "Not found.")
        body = self._read_body(events.MAX_BODY_BYTES)
        if body is None:
            return self._last_status

        request = events.HttpRequest(
            method=self.command,
            target=self.path,
            protocol=self.request_version,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=str(self.client_address[0]),
            server_port=self.server.port,
        )
        context = LocalContext(function_name="serverless-pypi-api", region=self.server.region)
        try:
            event = events.to_event(request, request_id=request_id)
        except events.BadRequest:
            return self._text(400, "Bad request.")
        if self.server.authorizer is not None:
            denied = self._authorize(event)
            if denied is not None:
                self._write(
                    denied.status,
                    [
                        *denied.headers,
                        ("Content-Length", str(len(denied.body))),
                        ("apigw-requestid", request_id),
                    ],
                    b"" if self.command == "HEAD" else denied.body,
                )
                return denied.status
        try:
            result = self.server.api(event, context)
            response = events.from_result(result, method=self.command)
        except events.BadRequest:
            return self._text(400, "Bad request.")
        except events.InvalidResponse as exc:
            log.error("invalid handler response", extra={"reason": str(exc)})
            return self._text(500, "Internal Server Error")
        except Exception:
            log.exception("API handler failed")
            return self._text(500, "Internal Server Error")
        self._write(
            response.status, [*response.headers, ("apigw-requestid", request_id)], response.body
        )
        return response.status

    def _authorize(self, event: dict[str, Any]) -> events.HttpResponse | None:
        """Run the authorizer as API Gateway does: attach its verdict to ``event``, or return
        the response API Gateway would send instead (403 deny, 500 failure)."""
        assert self.server.authorizer is not None
        context = LocalContext(
            function_name="serverless-pypi-authorizer", timeout_ms=10_000, region=self.server.region
        )
        try:
            result = self.server.authorizer(
                events.authorizer_event(event, region=self.server.region), context
            )
        except Exception:
            log.exception("authorizer failed")
            return events.AUTHORIZER_FAILED
        return events.apply_verdict(event, result)

    def _read_body(self, limit: int) -> bytes | None:
        """The request body by Content-Length, or ``None`` after answering an error."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._text(411, "Length required: chunked request bodies are not supported.")
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._text(400, "Bad request: malformed Content-Length.")
            return None
        if length > limit:
            self.close_connection = True  # the unread body makes the connection unusable
            self._text(413, "Request entity too large.")
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            self._last_status = 400
            return None
        return body

    def handle_expect_100(self) -> bool:
        """Refuse an oversized upload before the client sends it."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = 0
        if length > events.MAX_BODY_BYTES:
            self.close_connection = True
            self._text(413, "Request entity too large.")
            return False
        return super().handle_expect_100()

    def _text(self, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> int:
        body = (message + "\n").encode("utf-8")
        extra = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        self._write(status, [*extra, *(headers or [])], b"" if self.command == "HEAD" else body)
        return status

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._last_status = status
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    _last_status = 0

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by the JSON access line in ``_dispatch``."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http server: " + format, *args)
