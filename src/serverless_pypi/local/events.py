"""HTTP request ↔ API Gateway v2 (HTTP API, payload format 2.0) event translation.

Pure functions, no sockets: the server feeds them what it read and writes what they return, so
the translation is unit-tested on its own. The event is shaped as API Gateway builds it for a
``$default`` route, so the API handler cannot tell local mode from AWS.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from serverless_pypi.local.context import ACCOUNT_ID

API_ID = "local"
#: API Gateway's payload limit; a larger request never reaches the Lambda.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Headers that describe one connection, not the response; never copied from the handler.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "content-length",
        "date",
        "server",
    }
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BadRequest(ValueError):
    """The request cannot become an event (API Gateway would answer 400 itself)."""


class InvalidResponse(ValueError):
    """The handler returned something API Gateway would turn into a 500."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What the server read off the wire, before any interpretation."""

    method: str
    target: str  # the request-target as sent, e.g. "/simple/a%20b/?x=1"
    protocol: str  # "HTTP/1.1"
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    server_port: int


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def split_target(target: str) -> tuple[str, str]:
    """``(rawPath, rawQueryString)`` of a request-target, both still percent-encoded."""
    if target.startswith(("http://", "https://")):  # absolute-form, as sent to proxies
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    if not target.startswith("/"):
        raise BadRequest("request target must start with '/'")
    path, _, query = target.partition("?")
    return path, query.partition("#")[0]


def _clf_time(epoch: float) -> str:
    """API Gateway's ``requestContext.time`` format, independent of the locale."""
    t = time.gmtime(epoch)
    clock = time.strftime("%H:%M:%S", t)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def _domain_prefix(domain: str) -> str:
    """First label of the host, as API Gateway reports it (IP literals are kept whole)."""
    host = domain.rpartition("]")[0] + "]" if domain.startswith("[") else domain.split(":")[0]
    return host if host.startswith("[") or host.replace(".", "").isdigit() else host.split(".")[0]


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """API Gateway joins repeated names with commas (payload 2.0 has no multi-value maps)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def to_event(request: HttpRequest, *, request_id: str, now: float | None = None) -> dict[str, Any]:
    """The payload-2.0 event API Gateway would send for ``request`` on a ``$default`` route."""
    now = time.time() if now is None else now
    raw_path, raw_query = split_target(request.target)
    cookies: list[str] = []
    header_pairs: list[tuple[str, str]] = []
    for name, value in request.headers:
        lname = name.lower()
        if lname == "cookie":  # 2.0 moves cookies out of the headers
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            header_pairs.append((lname, value))
    headers = _joined(header_pairs)
    forwarded = headers.get("x-forwarded-for")
    source = request.source_ip
    headers["x-forwarded-for"] = f"{forwarded}, {source}" if forwarded else source
    headers["x-forwarded-port"] = str(request.server_port)
    headers["x-forwarded-proto"] = "http"
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{secrets.token_hex(12)}")

    domain = headers.get("host") or f"127.0.0.1:{request.server_port}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            # API Gateway puts the request's host here; locally that includes the port.
            "domainName": domain,
            "domainPrefix": _domain_prefix(domain),
            "http": {
                "method": request.method,
                "path": unquote(raw_path),
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": _clf_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        params = parse_qsl(raw_query, keep_blank_values=True)
        if params:
            event["queryStringParameters"] = _joined(params)
    if request.body:
        event["body"] = base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = True
    return event


def _header_text(value: object, what: str) -> str:
    text = value if isinstance(value, str) else str(value)
    if any(c in text for c in "\r\n\0"):
        raise InvalidResponse(f"{what} contains a line break")
    return text


def from_result(result: Any, *, method: str) -> HttpResponse:
    """Map a handler's payload-2.0 response back to HTTP, as API Gateway does."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        # 2.0 treats any other JSON-serialisable return value as a 200 JSON body.
        try:
            body = json.dumps(result).encode("utf-8")
        except (TypeError, ValueError):
            raise InvalidResponse("response is not JSON-serialisable") from None
        result = {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": body.decode("utf-8"),
        }
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise InvalidResponse("statusCode is not an integer between 200 and 599")
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        raise InvalidResponse("headers is not an object")
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise InvalidResponse("cookies is not a list")
    body_text = result.get("body")
    if body_text is None:
        body_text = ""
    if not isinstance(body_text, str):
        raise InvalidResponse("body is not a string")
    if result.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body_text, validate=True)
        except ValueError:
            raise InvalidResponse("body is not valid base64") from None
    else:
        body = body_text.encode("utf-8")

    headers: list[tuple[str, str]] = []
    content_length: str | None = None
    for name, value in raw_headers.items():
        name = _header_text(name, "header name")
        lname = name.lower()
        if lname == "content-length":
            content_length = _header_text(value, "content-length")
        if lname not in HOP_BY_HOP:
            headers.append((name, _header_text(value, f"header {name}")))
    headers.extend(("Set-Cookie", _header_text(c, "cookie")) for c in cookies)

    if status in (204, 304):
        return HttpResponse(status, tuple(headers), b"")
    if method == "HEAD":
        # The handler reports the GET body's length on HEAD; keep it, send no body.
        length = content_length if content_length is not None else str(len(body))
        headers.append(("Content-Length", length))
        return HttpResponse(status, tuple(headers), b"")
    headers.append(("Content-Length", str(len(body))))
    return HttpResponse(status, tuple(headers), body)


# -- the Lambda authorizer (``serve --auth``) ----------------------------------------------------

#: API Gateway's own answers when an authorizer denies or fails (not customizable on HTTP APIs).
FORBIDDEN = HttpResponse(403, (("Content-Type", "application/json"),), b'{"message":"Forbidden"}')
AUTHORIZER_FAILED = HttpResponse(
    500, (("Content-Type", "application/json"),), b'{"message":"Internal Server Error"}'
)
#: Request fields API Gateway copies into a payload-2.0 REQUEST authorizer event (never the body).
_AUTHORIZER_FIELDS = ("rawPath", "rawQueryString", "cookies", "headers", "queryStringParameters")


def authorizer_event(event: dict[str, Any], *, region: str) -> dict[str, Any]:
    """The payload-2.0 REQUEST authorizer event API Gateway sends before the API event ``event``
    (route ``$default``, stage ``$default``, no identity source)."""
    context = event["requestContext"]
    method = context["http"]["method"]
    route_arn = (
        f"arn:aws:execute-api:{region}:{context['accountId']}:{context['apiId']}"
        f"/{context['stage']}/{method}{event['rawPath']}"
    )
    out: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn,
        "identitySource": [],
        "routeKey": event["routeKey"],
    }
    for name in _AUTHORIZER_FIELDS:
        if name in event:
            out[name] = json.loads(json.dumps(event[name]))  # a copy the authorizer may keep
    out["requestContext"] = json.loads(json.dumps(context))
    return out


def apply_verdict(event: dict[str, Any], result: Any) -> HttpResponse | None:
    """Attach a simple response's ``context`` to the API event as API Gateway does
    (``requestContext.authorizer.lambda``); or the response API Gateway sends instead: 403
    when the authorizer denies, 500 when its answer is not a simple response."""
    if not isinstance(result, Mapping) or not isinstance(result.get("isAuthorized"), bool):
        return AUTHORIZER_FAILED
    if not result["isAuthorized"]:
        return FORBIDDEN
    context = result.get("context")
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        return AUTHORIZER_FAILED
    try:
        copied = json.loads(json.dumps(dict(context)))
    except (TypeError, ValueError):
        return AUTHORIZER_FAILED
    event["requestContext"]["authorizer"] = {"lambda": copied}
    return None
