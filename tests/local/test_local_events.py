"""HTTP ↔ payload-2.0 translation of the local server, unit level and over a real socket."""

from __future__ import annotations

import base64
import http.client
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from serverless_pypi.local import events
from serverless_pypi.local.server import LocalServer, listen


def _request(
    target: str,
    *,
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> events.HttpRequest:
    return events.HttpRequest(
        method=method,
        target=target,
        protocol="HTTP/1.1",
        headers=headers,
        body=body,
        source_ip="10.0.0.7",
        server_port=8080,
    )


# -- request → event ---------------------------------------------------------------------------


def test_event_has_the_payload_2_shape() -> None:
    event = events.to_event(
        _request("/simple/my-pkg/", headers=(("Host", "127.0.0.1:8080"), ("User-Agent", "pip/25"))),
        request_id="rid-1",
        now=1_700_000_000.123,
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/simple/my-pkg/"
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event
    assert "cookies" not in event
    assert "body" not in event and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["stage"] == "$default" and ctx["routeKey"] == "$default"
    assert ctx["requestId"] == "rid-1"
    assert ctx["timeEpoch"] == 1_700_000_000_123
    assert ctx["time"] == "14/Nov/2023:22:13:20 +0000"
    assert ctx["domainName"] == "127.0.0.1:8080"
    assert ctx["http"] == {
        "method": "GET",
        "path": "/simple/my-pkg/",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.7",
        "userAgent": "pip/25",
    }
    assert event["headers"]["host"] == "127.0.0.1:8080"
    assert event["headers"]["x-forwarded-for"] == "10.0.0.7"
    assert event["headers"]["x-forwarded-proto"] == "http"


def test_raw_path_stays_percent_encoded_and_http_path_is_decoded() -> None:
    event = events.to_event(_request("/files/My_Pkg/a%20b%2Bc%25d%C3%A9.whl?x=1"), request_id="r")
    assert event["rawPath"] == "/files/My_Pkg/a%20b%2Bc%25d%C3%A9.whl"
    assert event["requestContext"]["http"]["path"] == "/files/My_Pkg/a b+c%dé.whl"
    assert event["rawQueryString"] == "x=1"


def test_query_string_repeated_parameters_are_joined() -> None:
    event = events.to_event(
        _request("/simple/?format=json&a=1&a=2&empty=&sp=a%20b"), request_id="r"
    )
    assert event["rawQueryString"] == "format=json&a=1&a=2&empty=&sp=a%20b"
    assert event["queryStringParameters"] == {
        "format": "json",
        "a": "1,2",
        "empty": "",
        "sp": "a b",
    }


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("abc.execute-api.test", "abc"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8080", "[::1]"),
        ("localhost:1", "localhost"),
    ],
)
def test_domain_prefix(host: str, prefix: str) -> None:
    event = events.to_event(_request("/", headers=(("Host", host),)), request_id="r")
    assert event["requestContext"]["domainName"] == host
    assert event["requestContext"]["domainPrefix"] == prefix


def test_absolute_form_target_and_bad_targets() -> None:
    event = events.to_event(_request("http://example.test/simple/?q=1"), request_id="r")
    assert (event["rawPath"], event["rawQueryString"]) == ("/simple/", "q=1")
    with pytest.raises(events.BadRequest):
        events.to_event(_request("*"), request_id="r")


def test_headers_are_lower_cased_and_repeats_joined_cookies_moved() -> None:
    headers = (
        ("Accept", "text/html"),
        ("ACCEPT", "application/json"),
        ("X-Forwarded-For", "1.2.3.4"),
        ("Cookie", "a=1; b=2"),
        ("Cookie", "c=3"),
    )
    event = events.to_event(_request("/", headers=headers), request_id="r")
    assert event["headers"]["accept"] == "text/html,application/json"
    assert event["headers"]["x-forwarded-for"] == "1.2.3.4, 10.0.0.7"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2", "c=3"]


def test_binary_body_is_base64() -> None:
    body = bytes(range(256)) * 3
    event = events.to_event(_request("/legacy/", method="POST", body=body), request_id="r")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


# -- result → response -------------------------------------------------------------------------


def test_response_maps_status_headers_cookies_and_base64_body() -> None:
    result = {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/octet-stream",
            "Content-Length": "999",
            "Connection": "close",
            "ETag": '"x"',
        },
        "cookies": ["a=1; Path=/", "b=2"],
        "body": base64.b64encode(b"\x00\xffdata").decode(),
        "isBase64Encoded": True,
    }
    response = events.from_result(result, method="GET")
    assert response.status == 200
    assert response.body == b"\x00\xffdata"
    headers = list(response.headers)
    assert ("Content-Length", "6") in headers  # recomputed, never the handler's
    assert ("Content-Type", "application/octet-stream") in headers
    assert ("ETag", '"x"') in headers
    assert ("Set-Cookie", "a=1; Path=/") in headers and ("Set-Cookie", "b=2") in headers
    assert not any(name.lower() == "connection" for name, _ in headers)


def test_head_keeps_the_handlers_length_and_sends_no_body() -> None:
    result = {"statusCode": 200, "headers": {"Content-Length": "1234"}, "body": ""}
    response = events.from_result(result, method="HEAD")
    assert response.body == b""
    assert ("Content-Length", "1234") in response.headers


def test_304_has_no_body_and_no_length() -> None:
    response = events.from_result({"statusCode": 304, "body": "ignored"}, method="GET")
    assert response.body == b""
    assert not any(name.lower() == "content-length" for name, _ in response.headers)


def test_plain_return_value_becomes_a_json_body() -> None:
    response = events.from_result({"hello": "world"}, method="GET")
    assert response.status == 200 and response.body == b'{"hello": "world"}'


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": 200, "body": b"bytes"},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "headers": {"X-Evil": "a\r\nSet-Cookie: b=1"}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "cookies": "a=1"},
        object(),
    ],
)
def test_invalid_results_are_rejected(result: Any) -> None:
    with pytest.raises(events.InvalidResponse):
        events.from_result(result, method="GET")


# -- over a real socket ------------------------------------------------------------------------


class Recorder:
    """A fake API handler that records events and answers with what the test sets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.result: Any = {
            "statusCode": 200,
            "headers": {"Content-Type": "text/plain"},
            "body": "hello",
        }

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[LocalServer]:
    srv = LocalServer(listen("127.0.0.1", 0), recorder)
    srv.start()
    yield srv
    srv.stop()


def _send(
    server: LocalServer,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, target, body=body, headers=headers or {})
    return conn.getresponse()


def test_server_passes_events_and_returns_responses(
    server: LocalServer, recorder: Recorder
) -> None:
    response = _send(server, "GET", "/simple/a%2Fb/?x=1&x=2", headers={"Accept": "text/html"})
    assert response.status == 200
    assert response.read() == b"hello"
    assert (
        response.getheader("apigw-requestid") == recorder.events[0]["requestContext"]["requestId"]
    )
    event = recorder.events[0]
    assert event["rawPath"] == "/simple/a%2Fb/"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["headers"]["accept"] == "text/html"
    assert event["headers"]["host"] == f"127.0.0.1:{server.port}"
    context = recorder.contexts[0]
    assert context.function_name and context.aws_request_id
    assert 0 < context.get_remaining_time_in_millis() <= 30_000


def test_server_binary_upload_round_trip(server: LocalServer, recorder: Recorder) -> None:
    body = bytes(range(256)) * 100
    recorder.result = {
        "statusCode": 201,
        "body": base64.b64encode(body[::-1]).decode(),
        "isBase64Encoded": True,
    }
    response = _send(
        server, "POST", "/legacy/", body=body, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status == 201
    assert response.read() == body[::-1]
    assert base64.b64decode(recorder.events[0]["body"]) == body


def test_server_head_sends_headers_only(server: LocalServer, recorder: Recorder) -> None:
    recorder.result = {"statusCode": 200, "headers": {"Content-Length": "5"}, "body": ""}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("HEAD", "/simple/")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") == "5"
    assert response.read() == b""
    # The connection is still usable: no stray body bytes were sent.
    recorder.result = {"statusCode": 200, "body": "again"}
    conn.request("GET", "/simple/")
    assert conn.getresponse().read() == b"again"
    assert recorder.events[0]["requestContext"]["http"]["method"] == "HEAD"


def test_server_handler_exception_is_a_500_without_details(
    server: LocalServer, recorder: Recorder
) -> None:
    recorder.result = RuntimeError("secret https://bucket/key?X-Amz-Signature=abc")
    response = _send(server, "GET", "/simple/")
    assert response.status == 500
    body = response.read()
    assert b"Signature" not in body and b"Traceback" not in body


def test_server_refuses_oversized_and_chunked_bodies(
    server: LocalServer, recorder: Recorder
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /legacy/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"PUT /legacy/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: 20000000\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")  # refused before the body is sent
    response = _send(
        server, "POST", "/legacy/", body=iter([b"abc"]), headers={"Transfer-Encoding": "chunked"}
    )
    assert response.status == 411
    assert recorder.events == []


def test_server_reserved_paths_never_reach_the_api(server: LocalServer, recorder: Recorder) -> None:
    for target in ("/_local/sns/guess", "/_local/", "/_local/sns/x?y=1"):
        assert _send(server, "POST", target, body=b"{}").status == 404
    assert recorder.events == []


def test_server_odd_methods(server: LocalServer, recorder: Recorder) -> None:
    assert _send(server, "DELETE", "/simple/").status == 200
    assert recorder.events[-1]["requestContext"]["http"]["method"] == "DELETE"
    assert _send(server, "BREW", "/simple/").status == 501
