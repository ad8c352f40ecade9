"""The API handler, driven with payload-2.0 events against an in-process moto bucket."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from support.apigw import http_event
from support.dists import wheel_bytes

from serverless_pypi import config, layout
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

JSON = "application/vnd.pypi.simple.v1+json"
BASE = "https://api.example.test"


def call(app: ApiApp, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = app.handle(http_event(method, path, **kwargs), None)
    assert set(response) >= {"statusCode", "headers", "body"}
    return response


def objects(bucket: Bucket) -> dict[str, str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


@pytest.fixture
def app(settings: config.Settings, bucket: Bucket) -> ApiApp:
    return ApiApp(settings, bucket)


@pytest.fixture
def stocked(bucket: Bucket, settings: config.Settings) -> Bucket:
    """A bucket with one project under two spellings, plus junk, indexed."""
    put = bucket.client.put_object
    put(
        Bucket=bucket.name,
        Key="My_Pkg/my_pkg-1.0-py3-none-any.whl",
        Body=wheel_bytes("my-pkg", "1.0"),
    )
    put(Bucket=bucket.name, Key="my-pkg/my_pkg-1.1.tar.gz", Body=b"sdist")
    put(Bucket=bucket.name, Key="my-pkg/my_pkg-2.0+local-py3-none-any.whl", Body=b"w")
    put(Bucket=bucket.name, Key="my-pkg/README.txt", Body=b"not a dist")
    put(Bucket=bucket.name, Key="my-pkg/other_pkg-1.0.tar.gz", Body=b"wrong project")
    put(Bucket=bucket.name, Key="other/other-1.0.tar.gz", Body=b"x")
    ReindexApp(settings, bucket).rebuild_all()
    return bucket


# -- root page ----------------------------------------------------------------------------
def test_never_indexed_bucket_has_valid_empty_index(app: ApiApp) -> None:
    html = call(app, "GET", "/simple/")
    assert html["statusCode"] == 200
    assert '<meta name="pypi:repository-version" content="1.4">' in html["body"]
    as_json = call(app, "GET", "/simple/", headers={"Accept": JSON})
    assert json.loads(as_json["body"]) == {"meta": {"api-version": "1.4"}, "projects": []}


def test_root_lists_each_project_once(app: ApiApp, stocked: Bucket) -> None:
    body = json.loads(call(app, "GET", "/simple/", headers={"Accept": JSON})["body"])
    assert body["projects"] == [{"name": "my-pkg"}, {"name": "other"}]
    html = call(app, "GET", "/simple/")["body"]
    assert html.count('href="my-pkg/"') == 1


def test_root_is_one_s3_read(app: ApiApp, stocked: Bucket) -> None:
    calls: list[str] = []
    stocked.client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )
    assert call(app, "GET", "/simple/")["statusCode"] == 200
    assert calls == ["GetObject"]


# -- project page -------------------------------------------------------------------------
def test_project_page_merges_spellings_and_drops_junk(app: ApiApp, stocked: Bucket) -> None:
    body = json.loads(call(app, "GET", "/simple/my-pkg/", headers={"Accept": JSON})["body"])
    assert body["name"] == "my-pkg"
    assert body["meta"] == {"api-version": "1.4"}
    assert [f["filename"] for f in body["files"]] == [
        "my_pkg-1.0-py3-none-any.whl",
        "my_pkg-1.1.tar.gz",
        "my_pkg-2.0+local-py3-none-any.whl",
    ]
    assert body["versions"] == ["1.0", "1.1", "2.0+local"]
    for f in body["files"]:
        key = urlsplit(urljoin(f"{BASE}/simple/my-pkg/", f["url"])).path.removeprefix("/files/")
        data = stocked.client.get_object(Bucket=stocked.name, Key=unquote(key))["Body"].read()
        assert f["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert f["size"] == len(data)
    page_url = f"{BASE}/simple/my-pkg/"
    urls = [urlsplit(urljoin(page_url, f["url"])).path for f in body["files"]]
    assert urls[0] == "/files/My_Pkg/my_pkg-1.0-py3-none-any.whl"
    assert urls[2] == "/files/my-pkg/my_pkg-2.0%2Blocal-py3-none-any.whl"


def test_html_link_text_is_the_filename_of_its_href(app: ApiApp, stocked: Bucket) -> None:
    from html.parser import HTMLParser
    from urllib.parse import unquote

    links: list[tuple[str, str]] = []

    class Links(HTMLParser):
        href: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self.href = dict(attrs)["href"]

        def handle_data(self, data: str) -> None:
            if self.href is not None:
                links.append((self.href, data))
                self.href = None

    response = call(app, "GET", "/simple/my-pkg/")
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    Links().feed(response["body"])
    assert len(links) == 3
    for href, text in links:
        path, _, fragment = href.partition("#")
        assert unquote(path.rsplit("/", 1)[1]) == text
        assert fragment.startswith("sha256=")


@pytest.mark.parametrize(
    ("path", "query", "location"),
    [
        ("/simple/My_Pkg/", "", "/simple/my-pkg/"),
        ("/simple/my.pkg/", "format=x", "/simple/my-pkg/?format=x"),
        ("/simple/my-pkg", "", "/simple/my-pkg/"),
        ("/simple/MY_PKG", "", "/simple/my-pkg/"),
        ("/simple", "a=1", "/simple/?a=1"),
        ("/", "", "/simple/"),
    ],
)
def test_redirects_resolve_to_canonical_urls(
    app: ApiApp, path: str, query: str, location: str
) -> None:
    response = call(app, "GET", path, query=query)
    assert response["statusCode"] in (301, 302)
    resolved = urljoin(BASE + path, response["headers"]["Location"])
    assert resolved == BASE + location


def test_redirects_work_under_a_named_stage(app: ApiApp) -> None:
    response = call(app, "GET", "/prod/simple/My_Pkg/", stage="prod")
    assert urljoin(f"{BASE}/prod/simple/My_Pkg/", response["headers"]["Location"]) == (
        f"{BASE}/prod/simple/my-pkg/"
    )


@pytest.mark.parametrize("name", ["-bad", "bad-", "a_b!", "%C3%BC", "x" * 201])
def test_invalid_names_are_404_never_fallback(bucket: Bucket, name: str) -> None:
    settings = config.Settings(bucket=bucket.name, fallback_index_url="https://pypi.org/simple/")
    response = call(ApiApp(settings, bucket), "GET", f"/simple/{name}/")
    assert response["statusCode"] in (400, 404)
    assert "Location" not in response["headers"]


def test_unknown_project_is_404(app: ApiApp, stocked: Bucket) -> None:
    assert call(app, "GET", "/simple/nope/")["statusCode"] == 404


def test_project_page_listing_even_when_never_indexed(app: ApiApp, bucket: Bucket) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key="Fresh/fresh-1.0.tar.gz", Body=b"x")
    response = call(app, "GET", "/simple/fresh/")
    assert response["statusCode"] == 200
    assert "fresh-1.0.tar.gz" in response["body"]


# -- fallback -----------------------------------------------------------------------------
@pytest.fixture
def fallback_app(stocked: Bucket) -> ApiApp:
    settings = config.Settings(bucket=stocked.name, fallback_index_url="https://pypi.org/simple/")
    return ApiApp(settings, stocked)


def test_fallback_for_unknown_project_is_temporary(fallback_app: ApiApp) -> None:
    response = call(fallback_app, "GET", "/simple/requests/")
    assert response["statusCode"] in (302, 307)
    assert response["headers"]["Location"] == "https://pypi.org/simple/requests/"


def test_no_fallback_when_private_project_exists_under_another_spelling(
    fallback_app: ApiApp, stocked: Bucket
) -> None:
    stocked.client.put_object(
        Bucket=stocked.name, Key="Secret_Lib/secret_lib-1.0.tar.gz", Body=b"x"
    )  # not indexed yet: the listing must still find it
    response = call(fallback_app, "GET", "/simple/secret-lib/")
    assert response["statusCode"] == 200
    assert "secret_lib-1.0.tar.gz" in response["body"]


def test_no_fallback_when_private_prefix_has_only_junk(
    fallback_app: ApiApp, stocked: Bucket
) -> None:
    stocked.client.put_object(Bucket=stocked.name, Key="Internal.Tool/notes.txt", Body=b"x")
    response = call(fallback_app, "GET", "/simple/internal-tool/")
    assert response["statusCode"] == 404


def test_no_fallback_for_files(fallback_app: ApiApp) -> None:
    response = call(fallback_app, "GET", "/files/requests/requests-2.0.tar.gz")
    assert response["statusCode"] == 404


# -- negotiation and caching ---------------------------------------------------------------
@pytest.mark.parametrize("path", ["/simple/", "/simple/my-pkg/"])
def test_negotiated_responses_vary_on_accept(app: ApiApp, stocked: Bucket, path: str) -> None:
    pip_accept = f"{JSON}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
    as_json = call(app, "GET", path, headers={"Accept": pip_accept})
    assert as_json["headers"]["Content-Type"] == JSON
    latest = call(app, "GET", path, headers={"Accept": "application/vnd.pypi.simple.latest+json"})
    assert latest["headers"]["Content-Type"] == JSON
    html = call(app, "GET", path, headers={"Accept": "text/html"})
    assert html["headers"]["Content-Type"].startswith("text/html")
    for response in (as_json, latest, html):
        assert response["headers"]["Vary"] == "Accept, Accept-Encoding"
        assert response["headers"]["Cache-Control"] == "no-cache"
    assert as_json["headers"]["ETag"] != html["headers"]["ETag"]
    unsupported = call(app, "GET", path, headers={"Accept": "application/xml"})
    assert unsupported["statusCode"] == 406


def test_format_query_overrides_accept(app: ApiApp, stocked: Bucket) -> None:
    response = call(
        app, "GET", "/simple/my-pkg/", query=f"format={JSON}", headers={"Accept": "text/html"}
    )
    assert response["headers"]["Content-Type"] == JSON


@pytest.mark.parametrize("path", ["/simple/", "/simple/my-pkg/"])
def test_etag_revalidation(app: ApiApp, stocked: Bucket, path: str) -> None:
    first = call(app, "GET", path)
    etag = first["headers"]["ETag"]
    assert call(app, "GET", path)["headers"]["ETag"] == etag  # deterministic output
    again = call(app, "GET", path, headers={"If-None-Match": etag})
    assert again["statusCode"] == 304
    assert again["body"] == ""
    stale = call(app, "GET", path, headers={"If-None-Match": '"other"'})
    assert stale["statusCode"] == 200


def test_head_page_has_no_body_but_same_headers(app: ApiApp, stocked: Bucket) -> None:
    get = call(app, "GET", "/simple/my-pkg/")
    head = call(app, "HEAD", "/simple/my-pkg/")
    assert head["statusCode"] == 200
    assert head["body"] == ""
    assert head["headers"]["ETag"] == get["headers"]["ETag"]
    assert head["headers"]["Content-Length"] == str(len(get["body"].encode()))


# -- files --------------------------------------------------------------------------------
def _presigned(response: dict[str, Any]) -> tuple[str, dict[str, list[str]]]:
    assert response["statusCode"] in (302, 303, 307)
    assert response["headers"]["Cache-Control"] == "no-store"
    parts = urlsplit(response["headers"]["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def test_file_redirects_to_sigv4_regional_url(bucket: Bucket) -> None:
    settings = config.Settings(bucket=bucket.name, region="eu-central-1", url_ttl=120)
    bucket.client.put_object(Bucket=bucket.name, Key="My_Pkg/my_pkg-1.0.tar.gz", Body=b"x")
    app = ApiApp(settings)  # its own client, in the configured region
    url, query = _presigned(call(app, "GET", "/files/My_Pkg/my_pkg-1.0.tar.gz"))
    assert url == f"https://{bucket.name}.s3.eu-central-1.amazonaws.com/My_Pkg/my_pkg-1.0.tar.gz"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["120"]


def test_us_east_1_uses_the_regional_endpoint(app: ApiApp, stocked: Bucket) -> None:
    url, _ = _presigned(call(app, "GET", "/files/other/other-1.0.tar.gz"))
    assert url.startswith(f"https://{stocked.name}.s3.us-east-1.amazonaws.com/")


def test_head_redirects_to_url_presigned_for_head(app: ApiApp, stocked: Bucket) -> None:
    get_url, get_query = _presigned(call(app, "GET", "/files/other/other-1.0.tar.gz"))
    head_url, head_query = _presigned(call(app, "HEAD", "/files/other/other-1.0.tar.gz"))
    assert get_url == head_url
    assert get_query["X-Amz-Signature"] != head_query["X-Amz-Signature"]


@pytest.mark.parametrize(
    "path",
    [
        "/files/other/other-9.9.tar.gz",  # valid name, no object
        "/files/my-pkg/README.txt",  # object exists but is not a distribution
        "/files/my-pkg/other_pkg-1.0.tar.gz",  # object of another project
        "/files/other/other-1.0.tar.gz.metadata",  # no metadata is advertised
        "/files/other",
        "/files/a/b/c",
    ],
)
def test_unknown_files_are_404(app: ApiApp, stocked: Bucket, path: str) -> None:
    assert call(app, "GET", path)["statusCode"] == 404


@pytest.mark.parametrize(
    "filename", ["my_pkg-1.0+local-py3-none-any.whl", "my_pkg-1.0.post1.tar.gz"]
)
def test_special_characters_round_trip(app: ApiApp, bucket: Bucket, filename: str) -> None:
    key = f"My.Pkg/{filename}"
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"x")
    for junk in (
        "my pkg-1.0 x.tar.gz",
        "my_pkg-1.0+ü-py3-none-any.whl",
        "my_pkg-1%.tar.gz",
        "my_pkg-1.0~1.tar.gz",
    ):
        bucket.client.put_object(Bucket=bucket.name, Key=f"My.Pkg/{junk}", Body=b"x")
    for junk_key in ("My Pkg/my_pkg-1.0.tar.gz", "Mÿ_Pkg/x.tar.gz", "%7E/a.whl"):
        bucket.client.put_object(Bucket=bucket.name, Key=junk_key, Body=b"x")
    page = json.loads(call(app, "GET", "/simple/my-pkg/", headers={"Accept": JSON})["body"])
    listed = {f["filename"]: f["url"] for f in page["files"]}
    assert list(listed) == [filename]
    file_path = urlsplit(urljoin(f"{BASE}/simple/my-pkg/", listed[filename])).path
    url, _ = _presigned(call(app, "GET", file_path))
    from urllib.parse import unquote

    assert unquote(urlsplit(url).path) == f"/{key}"


# -- hostile input ------------------------------------------------------------------------
HOSTILE_REQUESTS = [
    ("GET", "/simple/../etc/passwd", 400),
    ("GET", "/simple/%2e%2e/", 400),
    ("GET", "/files/my-pkg/..%2Fsecret.whl", 400),
    ("GET", "/simple/a%00b/", 400),
    ("GET", "//simple/", 400),
    ("GET", "/simple//", 400),
    ("GET", "/simple/%zz/", 400),
    ("GET", "/simple/%C3%28/", 400),  # invalid UTF-8
    ("GET", "/simple/" + "a" * 300 + "/", 400),
    ("GET", "/" + "a/" * 1100, 414),
    ("GET", "/simple/a%0Ab/", 400),
    ("GET", "simple/", 400),
    ("GET", "/unknown", 404),
    ("GET", "/simple/my-pkg/extra/", 404),
    ("DELETE", "/simple/", 405),
    ("PUT", "/files/my-pkg/my_pkg-1.1.tar.gz", 405),
    ("PATCH", "/simple/my-pkg/", 405),
    ("G E T", "/simple/", 400),
    ("POST", "/simple/", 405),
]


@pytest.mark.parametrize(("method", "path", "status"), HOSTILE_REQUESTS)
def test_hostile_requests(
    app: ApiApp, stocked: Bucket, method: str, path: str, status: int
) -> None:
    before = objects(stocked)
    response = call(app, method, path)
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"].startswith("text/plain")
    assert "Traceback" not in response["body"]
    assert 0 < len(response["body"]) < 200
    if status == 405:
        assert response["headers"]["Allow"] == "GET, HEAD"
    assert objects(stocked) == before


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "GET /",
        {},
        {"rawPath": "/simple/"},
        {"rawPath": "/simple/", "requestContext": "not an object"},
        {"rawPath": "/simple/", "requestContext": ["GET"]},
        {"requestContext": {"http": {"method": "GET"}}},
        {"rawPath": 5, "requestContext": {"http": {"method": "GET"}}},
        {"rawPath": "/simple/", "requestContext": {"http": "GET"}},
        {"rawPath": "/simple/", "requestContext": {"http": {"method": "GET"}}, "headers": []},
        {"rawPath": "/simple/", "requestContext": {"http": {"method": "GET"}}, "rawQueryString": 3},
        {
            "rawPath": "/simple/",
            "requestContext": {"http": {"method": "GET"}},
            "body": "!!",
            "isBase64Encoded": True,
        },
    ],
)
def test_malformed_events_get_400(app: ApiApp, event: Any) -> None:
    response = app.handle(event, None)
    assert response["statusCode"] == 400


# -- failures -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject"), 502),
        (ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "GetObject"), 503),
        (EndpointConnectionError(endpoint_url="https://s3.example"), 503),
    ],
)
def test_s3_failures_become_502_or_503(
    app: ApiApp,
    bucket: Bucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    status: int,
) -> None:
    from serverless_pypi import logs

    def fail(**_: Any) -> None:
        raise error

    logs.setup("WARNING")
    monkeypatch.setattr(bucket.client, "get_object", fail)
    monkeypatch.setattr(bucket.client, "list_objects_v2", fail)
    for path in ("/simple/", "/simple/x/"):
        response = call(app, "GET", path)
        assert response["statusCode"] == status
        assert "Traceback" not in response["body"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reasons = [r["reason"] for r in logged if r["message"] == "storage error"]
    assert len(reasons) == 2 and all(r.startswith("S3 ") for r in reasons)


def test_unexpected_errors_are_500_without_traceback(
    app: ApiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "root_page", lambda request: 1 / 0)
    response = call(app, "GET", "/simple/")
    assert response["statusCode"] == 500
    assert "ZeroDivision" not in response["body"]


def test_logs_carry_request_id_but_no_secrets(
    app: ApiApp, stocked: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    from serverless_pypi import logs

    logs.setup("DEBUG")
    secret = "Basic dXNlcjpzM2NyM3Q="
    response = call(app, "GET", "/files/other/other-1.0.tar.gz", headers={"Authorization": secret})
    signature = parse_qs(urlsplit(response["headers"]["Location"]).query)["X-Amz-Signature"][0]
    call(app, "GET", "/simple/missing/", headers={"Authorization": secret})
    output = capsys.readouterr().out
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert records and all(r.get("request_id") == "req-1" for r in records)
    assert secret not in output and "dXNlcjpzM2NyM3Q" not in output
    assert signature not in output and "X-Amz-" not in output
    logging.getLogger("serverless_pypi").setLevel(logging.WARNING)


@pytest.mark.parametrize("path", ["/simple/", "/simple/my-pkg/"])
def test_stored_pages_go_out_gzipped_to_clients_that_accept_it(
    app: ApiApp, stocked: Bucket, path: str
) -> None:
    import base64
    import gzip

    plain = call(app, "GET", path, headers={"Accept": JSON})
    zipped = call(app, "GET", path, headers={"Accept": JSON, "Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in plain["headers"]
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert zipped["isBase64Encoded"] is True
    body = gzip.decompress(base64.b64decode(zipped["body"]))
    assert body == plain["body"].encode()
    assert zipped["headers"]["ETag"] != plain["headers"]["ETag"]
    again = call(
        app,
        "GET",
        path,
        headers={
            "Accept": JSON,
            "Accept-Encoding": "gzip",
            "If-None-Match": zipped["headers"]["ETag"],
        },
    )
    assert again["statusCode"] == 304
    refused = call(app, "GET", path, headers={"Accept": JSON, "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused["headers"]


def test_root_html_is_rendered_from_the_stored_json(app: ApiApp, bucket: Bucket) -> None:
    import base64
    import gzip

    names = tuple(f"proj-{i:03d}" for i in range(200))
    ReindexApp(app.settings, bucket).root.update(lambda _old: names)
    listed = json.loads(call(app, "GET", "/simple/", headers={"Accept": JSON})["body"])
    assert [p["name"] for p in listed["projects"]] == list(names)
    html = call(app, "GET", "/simple/")
    assert re.findall(r'<a href="([^"]+)/">\1</a>', html["body"]) == list(names)
    zipped = call(app, "GET", "/simple/", headers={"Accept-Encoding": "gzip"})
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(base64.b64decode(zipped["body"])).decode() == html["body"]
    assert len(zipped["body"]) < len(html["body"]) / 4
    # The warm app keeps the rendered page only while the root is unchanged.
    ReindexApp(app.settings, bucket).root.update(lambda old: (*old, "zzz"))
    again = call(app, "GET", "/simple/")
    assert re.findall(r'<a href="([^"]+)/">\1</a>', again["body"]) == [*names, "zzz"]
    assert again["headers"]["ETag"] != html["headers"]["ETag"]


def test_root_html_from_a_hand_written_root_lists_only_valid_names(
    app: ApiApp, bucket: Bucket
) -> None:
    import gzip

    hostile = {"projects": [{"name": "ok"}, {"name": '"><script>x</script>'}, {"name": 7}]}
    bucket.client.put_object(
        Bucket=bucket.name, Key=layout.ROOT_JSON, Body=gzip.compress(json.dumps(hostile).encode())
    )
    html = call(app, "GET", "/simple/")
    assert html["statusCode"] == 200
    assert re.findall(r'<a href="([^"]+)/">', html["body"]) == ["ok"]
    assert "<script>" not in html["body"]


def test_page_too_large_without_gzip_is_a_406_that_says_how(app: ApiApp, bucket: Bucket) -> None:
    """Lambda refuses responses over 6 MiB (API Gateway would answer 502); a page that only
    fits compressed is refused to a client without gzip, clearly, and served to the others."""
    import gzip

    body = b'{"meta":{"api-version":"1.1"},"name":"big","files":[],"pad":"' + b"a" * 6_300_000
    bucket.client.put_object(
        Bucket=bucket.name,
        Key=layout.project_page_key("big", "json"),
        Body=gzip.compress(body + b'"}'),
    )
    plain = call(app, "GET", "/simple/big/", headers={"Accept": JSON})
    assert plain["statusCode"] == 406
    assert "Accept-Encoding: gzip" in plain["body"] and "6.3 MB" in plain["body"]
    zipped = call(app, "GET", "/simple/big/", headers={"Accept": JSON, "Accept-Encoding": "gzip"})
    assert zipped["statusCode"] == 200
    assert len(json.dumps(zipped)) < 6 * 1024 * 1024


def test_page_too_large_even_compressed_is_an_error_not_a_lambda_failure(
    app: ApiApp, bucket: Bucket
) -> None:
    import random

    incompressible = random.Random(3).randbytes(4_800_000)  # 6.4 MB once in base64
    bucket.client.put_object(
        Bucket=bucket.name, Key=layout.project_page_key("huge", "json"), Body=incompressible
    )
    response = call(
        app, "GET", "/simple/huge/", headers={"Accept": JSON, "Accept-Encoding": "gzip"}
    )
    assert response["statusCode"] == 500
    assert "more than the index can send" in response["body"]
