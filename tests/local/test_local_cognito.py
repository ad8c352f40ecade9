"""``serve --auth`` pieces: moto's user records (internals), users.json, the authorizer event,
API Gateway's handling of the verdict, and the in-process start with the real authorizer."""

from __future__ import annotations

import base64
import http.client
import io
import json
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from serverless_pypi.local import cognito, events
from serverless_pypi.local.serve import Options, Running, start
from serverless_pypi.local.server import LocalServer, listen

PASSWORD = "Local-pass-1"  # a throwaway pool's user


@pytest.fixture
def client() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("cognito-idp", region_name="us-east-1")


def _sign_in(client: Any, pool: cognito.Pool, name: str, password: str) -> dict[str, Any]:
    return client.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": password},
    )


def _populate(client: Any, pool: cognito.Pool) -> None:
    pid = pool.user_pool_id
    client.admin_create_user(UserPoolId=pid, Username="up", MessageAction="SUPPRESS")
    client.admin_set_user_password(UserPoolId=pid, Username="up", Password=PASSWORD, Permanent=True)
    client.admin_add_user_to_group(UserPoolId=pid, Username="up", GroupName="uploaders")
    client.admin_create_user(
        UserPoolId=pid,
        Username="new",
        TemporaryPassword="Temp-pass-1",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "new@example.test"}],
    )
    client.admin_create_user(UserPoolId=pid, Username="off", MessageAction="SUPPRESS")
    client.admin_set_user_password(
        UserPoolId=pid, Username="off", Password=PASSWORD + "x", Permanent=True
    )
    client.admin_disable_user(UserPoolId=pid, Username="off")


# -- moto internals: fails when moto changes how it keeps users -----------------------------------


def test_moto_users_reads_what_the_api_wrote(client: Any) -> None:
    pool = cognito.create_pool(client)
    _populate(client, pool)
    found = {u["username"]: u for u in cognito.moto_users(pool.user_pool_id)}
    assert list(found) == ["new", "off", "up"]
    assert found["up"] == {
        "username": "up",
        "password": PASSWORD,
        "status": "CONFIRMED",
        "enabled": True,
        "attributes": {},
        "groups": ["uploaders"],
    }
    assert found["new"]["status"] == "FORCE_CHANGE_PASSWORD"
    assert found["new"]["password"] == "Temp-pass-1"
    assert found["new"]["attributes"] == {"email": "new@example.test"}
    assert found["off"]["enabled"] is False
    assert cognito.moto_groups(pool.user_pool_id) == ["uploaders"]
    # The snapshot is plain JSON.
    json.dumps(found)
    assert cognito.moto_users("us-east-1_missing") == []


def test_pool_refuses_what_cognito_refuses_by_default(client: Any) -> None:
    pool = cognito.create_pool(client)
    pid = pool.user_pool_id
    client.admin_create_user(UserPoolId=pid, Username="u", MessageAction="SUPPRESS")
    for weak in ("Sh-rt1", "nouppercase-1", "NoNumbers-x", "NoSymbols1x"):
        with pytest.raises(client.exceptions.InvalidPasswordException):
            client.admin_set_user_password(
                UserPoolId=pid, Username="u", Password=weak, Permanent=True
            )


# -- users.json ----------------------------------------------------------------------------------


def test_store_round_trip(client: Any, tmp_path: Path) -> None:
    pool = cognito.create_pool(client)
    store = cognito.UserStore(tmp_path, pool, client)
    assert store.restore() == 0
    assert not store.path.exists()  # nothing to save yet
    _populate(client, pool)
    changes: list[str] = []
    store.on_change.append(lambda: changes.append("x"))
    assert store.sync() is True
    assert store.sync() is False  # unchanged: not written again
    assert changes == ["x"]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    saved = json.loads(store.path.read_text())
    assert saved["format"] == cognito.FORMAT
    assert [u["username"] for u in saved["users"]] == ["new", "off", "up"]

    # A new process: a new, empty pool; the users come back with their passwords and groups.
    other = cognito.create_pool(client)
    again = cognito.UserStore(tmp_path, other, client)
    assert again.restore() == 3
    restored = {u["username"]: u for u in cognito.moto_users(other.user_pool_id)}
    original = {u["username"]: u for u in saved["users"]}
    assert restored == original
    answer = _sign_in(client, other, "up", PASSWORD)
    assert "ChallengeName" not in answer
    assert _sign_in(client, other, "new", "Temp-pass-1")["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(client.exceptions.NotAuthorizedException):
        _sign_in(client, other, "off", PASSWORD + "x")
    assert again.sync() is False  # restoring is not a change


def test_store_refuses_an_unreadable_file(client: Any, tmp_path: Path) -> None:
    pool = cognito.create_pool(client)
    (tmp_path / cognito.USERS_FILE).write_text('{"format": "something else"}')
    with pytest.raises(cognito.UsersFileError):
        cognito.UserStore(tmp_path, pool, client).restore()
    (tmp_path / cognito.USERS_FILE).write_text("{not json")
    with pytest.raises(cognito.UsersFileError):
        cognito.UserStore(tmp_path, pool, client).restore()


def test_a_user_that_cannot_be_restored_is_skipped(client: Any, tmp_path: Path) -> None:
    pool = cognito.create_pool(client)
    document = {
        "format": cognito.FORMAT,
        "groups": ["uploaders"],
        "users": [
            {"username": "weak", "password": "weak", "status": "CONFIRMED", "groups": []},
            {"username": "ok", "password": PASSWORD, "status": "CONFIRMED", "groups": []},
        ],
    }
    (tmp_path / cognito.USERS_FILE).write_text(json.dumps(document))
    assert cognito.UserStore(tmp_path, pool, client).restore() == 1
    _sign_in(client, pool, "ok", PASSWORD)


# -- the authorizer event and API Gateway's handling of the answer -------------------------------


def _api_event(**headers: str) -> dict[str, Any]:
    request = events.HttpRequest(
        method="POST",
        target="/legacy/?a=1&a=2",
        protocol="HTTP/1.1",
        headers=(("Host", "127.0.0.1:8080"), ("Cookie", "c=1"), *headers.items()),
        body=b"the body",
        source_ip="127.0.0.1",
        server_port=8080,
    )
    return events.to_event(request, request_id="rid")


def test_authorizer_event_is_a_payload_2_request_event() -> None:
    api = _api_event(Authorization="Basic eDp5")
    event = events.authorizer_event(api, region="eu-west-1")
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["identitySource"] == []
    assert event["routeKey"] == "$default"
    assert (
        event["routeArn"]
        == "arn:aws:execute-api:eu-west-1:123456789012:local/$default/POST/legacy/"
    )
    assert event["rawPath"] == "/legacy/"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["c=1"]
    assert event["headers"]["authorization"] == "Basic eDp5"
    assert event["requestContext"] == api["requestContext"]
    assert "body" not in event and "isBase64Encoded" not in event
    # A copy: whatever the authorizer does to it leaves the API event alone.
    event["headers"]["authorization"] = "changed"
    event["requestContext"]["http"]["method"] = "GET"
    assert api["headers"]["authorization"] == "Basic eDp5"
    assert api["requestContext"]["http"]["method"] == "POST"


def test_verdict_is_attached_at_authorizer_lambda() -> None:
    api = _api_event()
    context = {"authenticated": True, "username": "u", "uploader": False}
    assert events.apply_verdict(api, {"isAuthorized": True, "context": context}) is None
    assert api["requestContext"]["authorizer"] == {"lambda": context}
    bare = _api_event()
    assert events.apply_verdict(bare, {"isAuthorized": True}) is None
    assert bare["requestContext"]["authorizer"] == {"lambda": {}}


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ({"isAuthorized": False}, 403),
        ({"isAuthorized": False, "context": {"authenticated": True}}, 403),
        ({"isAuthorized": "true"}, 500),
        ({}, 500),
        (None, 500),
        ({"isAuthorized": True, "context": ["x"]}, 500),
        ({"principalId": "x", "policyDocument": {}}, 500),  # not a simple response
    ],
)
def test_deny_and_malformed_answers(result: Any, status: int) -> None:
    api = _api_event()
    response = events.apply_verdict(api, result)
    assert response is not None and response.status == status
    assert "authorizer" not in api["requestContext"]
    expected = (
        b'{"message":"Forbidden"}' if status == 403 else b'{"message":"Internal Server Error"}'
    )
    assert response.body == expected


class _Recorder:
    def __init__(self) -> None:
        self.api_events: list[dict[str, Any]] = []
        self.authorizer_events: list[dict[str, Any]] = []
        self.answer: Any = {"isAuthorized": True, "context": {"authenticated": False}}

    def api(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.api_events.append(event)
        return {"statusCode": 200, "body": "ok"}

    def authorizer(self, event: dict[str, Any], context: Any) -> Any:
        assert context.function_name == "serverless-pypi-authorizer"
        self.authorizer_events.append(event)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def recorder() -> Iterator[tuple[_Recorder, LocalServer]]:
    rec = _Recorder()
    server = LocalServer(listen("127.0.0.1", 0), rec.api, authorizer=rec.authorizer)
    server.start()
    yield rec, server
    server.stop()


def _get(server: LocalServer, method: str = "GET", path: str = "/simple/") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers={"Authorization": "Basic eDp5"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_server_runs_the_authorizer_before_every_api_request(
    recorder: tuple[_Recorder, LocalServer],
) -> None:
    rec, server = recorder
    assert _get(server) == (200, b"ok")
    assert rec.authorizer_events[0]["headers"]["authorization"] == "Basic eDp5"
    assert rec.api_events[0]["requestContext"]["authorizer"] == {"lambda": {"authenticated": False}}
    # The API event is the same request the authorizer saw.
    assert (
        rec.api_events[0]["requestContext"]["requestId"]
        == (rec.authorizer_events[0]["requestContext"]["requestId"])
    )

    rec.answer = {"isAuthorized": False}
    assert _get(server) == (403, b'{"message":"Forbidden"}')
    assert _get(server, "HEAD") == (403, b"")
    rec.answer = RuntimeError("boom")
    assert _get(server) == (500, b'{"message":"Internal Server Error"}')
    assert len(rec.api_events) == 1  # the API never ran for those

    # The server's own paths are never authorized (nor routed to the API).
    before = len(rec.authorizer_events)
    assert _get(server, "POST", "/_local/sns/x")[0] == 404
    assert len(rec.authorizer_events) == before


# -- in process: start() with --auth and the real authorizer --------------------------------------


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    run = start(Options(port=0, data_dir=tmp_path / "data", auth=True), out=io.StringIO())
    yield run
    run.stop()


def _status(url: str, credentials: tuple[str, str] | None = None) -> int:
    headers = {}
    if credentials:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        )
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_start_with_auth(running: Running, tmp_path: Path) -> None:
    assert running.settings is not None
    assert (running.settings.auth, running.settings.uploads) == ("basic", "authenticated")
    pool = running.cognito
    assert pool.user_pool_id.startswith("us-east-1_")
    assert pool.endpoint_url == running.s3_endpoint_url
    assert _status(running.index_url) == 401

    # Added through the API (as `users add` does): works at once, and is on disk at once.
    admin = boto3.client("cognito-idp", endpoint_url=pool.endpoint_url, region_name="us-east-1")
    admin.admin_create_user(UserPoolId=pool.user_pool_id, Username="u", MessageAction="SUPPRESS")
    assert _status(running.index_url, ("u", PASSWORD)) == 401  # no password yet
    admin.admin_set_user_password(
        UserPoolId=pool.user_pool_id, Username="u", Password=PASSWORD, Permanent=True
    )
    # The failure above was cached by the authorizer; the change cleared its cache.
    assert _status(running.index_url, ("u", PASSWORD)) == 200
    saved = json.loads((tmp_path / "data" / cognito.USERS_FILE).read_text())
    assert [u["username"] for u in saved["users"]] == ["u"]


def test_auth_is_off_by_default(tmp_path: Path) -> None:
    run = start(Options(port=0, ephemeral=True), out=io.StringIO())
    try:
        assert run.cognito is None
        assert _status(run.index_url) == 200
        assert run.server.authorizer is None
    finally:
        run.stop()


def test_auth_needs_the_embedded_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from serverless_pypi.local import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    assert parser.parse_args([]).auth is False
    args = parser.parse_args(["--port", "0", "--auth", "--bucket", "b"])
    assert serve.run(args) == 2
    assert "--auth needs the embedded bucket" in capsys.readouterr().err
