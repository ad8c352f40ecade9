"""The Cognito Basic-auth authorizer against in-process moto Cognito."""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from serverless_pypi import config, logs
from serverless_pypi.authorizer import app as authz
from serverless_pypi.authorizer import cognito, verdicts
from serverless_pypi.authorizer.basic import Credentials, decode_basic

PASSWORD = "Correct-Horse-Battery-9"
OTHER_PASSWORD = "Another-Secret-Pass-7"


def basic(user: str | bytes, password: str | bytes = PASSWORD, scheme: str = "Basic") -> str:
    raw = (user if isinstance(user, bytes) else user.encode()) + b":"
    raw += password if isinstance(password, bytes) else password.encode()
    return f"{scheme} {base64.b64encode(raw).decode()}"


def event(authorization: str | None = None) -> dict[str, Any]:
    headers = {"host": "example.com"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": "GET /simple/{proxy+}",
        "rawPath": "/simple/demo/",
        "headers": headers,
        "requestContext": {"http": {"method": "GET", "path": "/simple/demo/"}},
    }


@dataclass
class Pool:
    client: Any
    pool_id: str
    client_id: str
    calls: list[str] = field(default_factory=list)

    def add_user(self, name: str, password: str = PASSWORD, *, upload: bool = False) -> None:
        self.client.admin_create_user(
            UserPoolId=self.pool_id, Username=name, MessageAction="SUPPRESS"
        )
        self.client.admin_set_user_password(
            UserPoolId=self.pool_id, Username=name, Password=password, Permanent=True
        )
        if upload:
            self.client.admin_add_user_to_group(
                UserPoolId=self.pool_id, Username=name, GroupName="uploaders"
            )

    def authorizer(self, **overrides: Any) -> authz.Authorizer:
        settings = config.AuthorizerSettings(
            user_pool_id=self.pool_id, client_id=self.client_id, **overrides
        )
        return authz.Authorizer(settings, self.client)


@pytest.fixture
def pool() -> Iterator[Pool]:
    from moto import mock_aws

    with mock_aws():
        settings = config.AuthorizerSettings(user_pool_id="us-east-1_x", client_id="x")
        client = cognito.make_client(settings)
        pool_id = client.create_user_pool(PoolName="pypi")["UserPool"]["Id"]
        client_id = client.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="pypi",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
        client.create_group(UserPoolId=pool_id, GroupName="uploaders")
        found = Pool(client, pool_id, client_id)
        # Count the requests the authorizer makes to Cognito (not the test's admin calls).
        client.meta.events.register(
            "before-call.cognito-idp.InitiateAuth",
            lambda model, **_: found.calls.append(model.name),
        )
        yield found


def context(result: dict[str, Any]) -> dict[str, Any]:
    assert result["isAuthorized"] is True  # never a deny: the API answers 401/403 itself
    assert set(result) == {"isAuthorized", "context"}
    assert set(result["context"]) == {
        "authenticated",
        "username",
        "uploader",
        "groups",
        "upload_token",
    }
    return result["context"]


# --- Cognito outcomes ------------------------------------------------------------------------


def test_reader(pool: Pool) -> None:
    pool.add_user("alice")
    assert context(pool.authorizer().authorize(event(basic("alice")))) == {
        "authenticated": True,
        "username": "alice",
        "uploader": False,
        "groups": "[]",
        "upload_token": False,
    }


def test_uploader(pool: Pool) -> None:
    pool.add_user("bob", upload=True)
    assert context(pool.authorizer().authorize(event(basic("bob")))) == {
        "authenticated": True,
        "username": "bob",
        "uploader": True,
        "groups": '["uploaders"]',
        "upload_token": False,
    }


def test_groups_pass_in_the_verdict(pool: Pool) -> None:
    """upload_permissions map groups to projects; the API decides with the groups passed."""
    pool.add_user("carol")
    pool.client.create_group(UserPoolId=pool.pool_id, GroupName="team-a")
    pool.client.admin_add_user_to_group(
        UserPoolId=pool.pool_id, Username="carol", GroupName="team-a"
    )
    verdict = context(pool.authorizer().authorize(event(basic("carol"))))
    assert verdict["uploader"] is False
    assert json.loads(verdict["groups"]) == ["team-a"]


def test_upload_token_is_never_sent_to_cognito(pool: Pool) -> None:
    """User __token__ carries an upload token: the API checks it, Cognito never sees it, and
    the verdict is not cached (any length of token, even past Cognito's password limit)."""
    authorizer = pool.authorizer()
    for password in ("spt1.short", "spt1." + "x" * 2000):
        verdict = context(authorizer.authorize(event(basic("__token__", password))))
        assert verdict == {
            "authenticated": False,
            "username": "",
            "uploader": False,
            "groups": "[]",
            "upload_token": True,
        }
    assert pool.calls == []
    assert len(authorizer.cache) == 0


def test_uploaders_group_name_is_configurable(pool: Pool) -> None:
    pool.add_user("bob", upload=True)
    verdict = context(pool.authorizer(uploaders_group="publishers").authorize(event(basic("bob"))))
    assert verdict["authenticated"] is True and verdict["uploader"] is False


def test_scheme_is_case_insensitive(pool: Pool) -> None:
    pool.add_user("alice")
    for scheme in ("basic", "BASIC", "bAsIc"):
        result = pool.authorizer().authorize(event(basic("alice", scheme=scheme)))
        assert context(result)["authenticated"] is True


def test_header_name_in_any_case_for_hand_made_events(pool: Pool) -> None:
    pool.add_user("alice")
    hand_made = {"headers": {"Authorization": basic("alice")}}
    assert context(pool.authorizer().authorize(hand_made))["authenticated"] is True


UNAUTHENTICATED = {
    "authenticated": False,
    "username": "",
    "uploader": False,
    "groups": "[]",
    "upload_token": False,
}


def test_wrong_password(pool: Pool) -> None:
    pool.add_user("alice")
    result = pool.authorizer().authorize(event(basic("alice", "Wrong-Password-123")))
    assert context(result) == UNAUTHENTICATED
    assert pool.calls == ["InitiateAuth"]


def test_unknown_user(pool: Pool) -> None:
    assert context(pool.authorizer().authorize(event(basic("nobody")))) == UNAUTHENTICATED


def test_force_change_password_is_a_failure(pool: Pool) -> None:
    """A user created with a temporary password gets NEW_PASSWORD_REQUIRED, not tokens."""
    pool.client.admin_create_user(
        UserPoolId=pool.pool_id,
        Username="carol",
        TemporaryPassword=PASSWORD,
        MessageAction="SUPPRESS",
    )
    user = pool.client.admin_get_user(UserPoolId=pool.pool_id, Username="carol")
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert context(pool.authorizer().authorize(event(basic("carol")))) == UNAUTHENTICATED


def test_any_challenge_is_a_failure() -> None:
    class MfaClient:
        def initiate_auth(self, **_: Any) -> dict[str, Any]:
            return {
                "ChallengeName": "SOFTWARE_TOKEN_MFA",
                "Session": "s",
                "ChallengeParameters": {},
            }

    settings = config.AuthorizerSettings(user_pool_id="us-east-1_abc", client_id="c")
    result = authz.Authorizer(settings, MfaClient()).authorize(event(basic("dave")))
    assert context(result) == UNAUTHENTICATED


@pytest.mark.parametrize(
    "code",
    [
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
    ],
)
def test_credential_errors_are_remembered_briefly(code: str) -> None:
    client = FakeCognito(error=code)
    auth = fake_authorizer(client)
    for _ in range(3):
        assert context(auth.authorize(event(basic("eve")))) == UNAUTHENTICATED
    assert client.calls == 1


@pytest.mark.parametrize(
    "code", ["TooManyRequestsException", "InternalErrorException", "InvalidParameterException"]
)
def test_cognito_trouble_is_a_failure_not_remembered(
    code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeCognito(error=code)
    auth = fake_authorizer(client)
    logs.setup("INFO")
    for _ in range(2):
        assert context(auth.authorize(event(basic("eve")))) == UNAUTHENTICATED
    assert client.calls == 2
    warnings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(w["level"] == "WARNING" and w.get("error_code") == code for w in warnings)


def test_unreachable_cognito_is_a_failure_not_remembered() -> None:
    from botocore.exceptions import EndpointConnectionError

    class Down:
        calls = 0

        def initiate_auth(self, **_: Any) -> dict[str, Any]:
            Down.calls += 1
            raise EndpointConnectionError(endpoint_url="https://cognito-idp.example")

    auth = fake_authorizer(Down())
    for _ in range(2):
        assert context(auth.authorize(event(basic("eve")))) == UNAUTHENTICATED
    assert Down.calls == 2


# --- Malformed headers: never an exception, never a Cognito call -------------------------------

MALFORMED = {
    "missing": None,
    "empty": "",
    "bearer": "Bearer abc.def.ghi",
    "scheme only": "Basic",
    "scheme and space": "Basic ",
    "not base64": "Basic !!!",
    "bad padding": "Basic " + base64.b64encode(b"alice:pw").decode().rstrip("="),
    "no colon": "Basic " + base64.b64encode(b"alice").decode(),
    "empty user": basic(""),
    "empty password": basic("alice", ""),
    "non-utf-8 user": basic(b"\xff\xfeal", PASSWORD.encode()),
    "non-utf-8 password": basic(b"alice", b"\xc3\x28pw"),
    "control character in user": basic("al\nice"),
    "huge header": "Basic " + "A" * 4096,
    "long user": basic("u" * 129),
    "long password": basic("alice", "p" * 257),
    "two headers joined": basic("alice") + ", " + basic("bob"),
    "digest": 'Digest username="alice"',
}


class NoCognito:
    """A client that fails the test if the authorizer calls Cognito at all."""

    def initiate_auth(self, **_: Any) -> dict[str, Any]:
        raise AssertionError("Cognito was called for a request without usable credentials")


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_headers_are_unauthenticated(value: str | None) -> None:
    assert context(fake_authorizer(NoCognito()).authorize(event(value))) == UNAUTHENTICATED


@pytest.mark.parametrize(
    "weird",
    [None, "text", [], {"headers": None}, {"headers": []}, {"headers": {"authorization": 5}}],
)
def test_weird_events_are_unauthenticated(weird: Any) -> None:
    assert context(fake_authorizer(NoCognito()).authorize(weird)) == UNAUTHENTICATED


def test_well_formed_header_reaches_cognito(pool: Pool) -> None:
    """The counterpart of the table above: the same user, well formed, is one InitiateAuth."""
    pool.add_user("alice")
    assert context(pool.authorizer().authorize(event(basic("alice"))))["authenticated"] is True
    assert pool.calls == ["InitiateAuth"]


def test_limits_are_inclusive() -> None:
    user, password = "u" * 128, "Aa1!" * 64
    assert decode_basic(basic(user, password)) == Credentials(user, password)


def test_credentials_repr_hides_the_password() -> None:
    assert PASSWORD not in repr(Credentials("alice", PASSWORD))


# --- The cache --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_request_makes_no_cognito_call(pool: Pool) -> None:
    pool.add_user("alice", upload=True)
    auth = pool.authorizer()
    first = auth.authorize(event(basic("alice")))
    second = auth.authorize(event(basic("alice")))
    assert first == second and context(second)["uploader"] is True
    assert pool.calls == ["InitiateAuth"]


def test_cache_expires_after_the_ttl(pool: Pool) -> None:
    pool.add_user("alice")
    clock = Clock()
    settings = config.AuthorizerSettings(pool.pool_id, pool.client_id, cache_ttl=300)
    auth = authz.Authorizer(settings, pool.client, verdicts.VerdictCache(clock=clock))
    auth.authorize(event(basic("alice")))
    clock.now += 299
    auth.authorize(event(basic("alice")))
    assert len(pool.calls) == 1
    clock.now += 2
    auth.authorize(event(basic("alice")))
    assert len(pool.calls) == 2


def test_changed_password_within_the_ttl_is_the_documented_trade_off(pool: Pool) -> None:
    """docs/auth.md: a password change or removal takes effect within the cache TTL."""
    pool.add_user("alice")
    clock = Clock()
    settings = config.AuthorizerSettings(pool.pool_id, pool.client_id, cache_ttl=300)
    auth = authz.Authorizer(settings, pool.client, verdicts.VerdictCache(clock=clock))
    assert context(auth.authorize(event(basic("alice"))))["authenticated"] is True
    pool.client.admin_set_user_password(
        UserPoolId=pool.pool_id, Username="alice", Password=OTHER_PASSWORD, Permanent=True
    )
    # Old password: still accepted from the cache until the TTL ends ...
    assert context(auth.authorize(event(basic("alice"))))["authenticated"] is True
    # ... the new one works at once (another cache key) ...
    assert context(auth.authorize(event(basic("alice", OTHER_PASSWORD))))["authenticated"] is True
    clock.now += 301
    # ... and after the TTL the old one is refused.
    assert context(auth.authorize(event(basic("alice")))) == UNAUTHENTICATED


def test_failures_are_remembered_for_the_short_ttl(pool: Pool) -> None:
    clock = Clock()
    settings = config.AuthorizerSettings(pool.pool_id, pool.client_id, cache_ttl=300)
    auth = authz.Authorizer(settings, pool.client, verdicts.VerdictCache(clock=clock))
    auth.authorize(event(basic("alice")))
    pool.add_user("alice")  # now the credentials are good
    assert context(auth.authorize(event(basic("alice")))) == UNAUTHENTICATED
    clock.now += config.NEGATIVE_AUTH_CACHE_TTL + 1
    assert context(auth.authorize(event(basic("alice"))))["authenticated"] is True
    assert len(pool.calls) == 2


def test_ttl_zero_disables_the_cache(pool: Pool) -> None:
    pool.add_user("alice")
    auth = pool.authorizer(cache_ttl=0)
    for _ in range(3):
        auth.authorize(event(basic("alice")))
        auth.authorize(event(basic("alice", "wrong-password-1")))
    assert len(pool.calls) == 6
    assert len(auth.cache) == 0


def test_cache_is_bounded_and_failures_cannot_evict_successes() -> None:
    cache = verdicts.VerdictCache(size=3)
    good = verdicts.Verdict(True, "alice")
    cache.put(cache.key("good"), good, 300)
    for i in range(10):
        cache.put(cache.key(f"bad{i}"), verdicts.UNAUTHENTICATED, 30)
    assert len(cache) == 4
    assert cache.get(cache.key("good")) == good
    assert cache.get(cache.key("bad0")) is None and cache.get(cache.key("bad9")) is not None


def test_cache_keys_are_keyed_hashes_not_the_header() -> None:
    header = basic("alice")
    cache = verdicts.VerdictCache()
    key = cache.key(header)
    assert len(key) == 32 and header.encode() not in key and PASSWORD.encode() not in key
    assert verdicts.VerdictCache().key(header) != key  # a per-container secret


# --- Logs -------------------------------------------------------------------------------------


def test_logs_never_hold_the_password_header_or_tokens(
    pool: Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    pool.add_user("alice", upload=True)
    logs.setup("DEBUG")
    # As if the runtime logged everything at DEBUG: botocore would log request bodies (the
    # password); the authorizer must raise its level.
    botocore_log = logging.getLogger("botocore")
    spy = logging.StreamHandler(sys.stderr)
    botocore_log.addHandler(spy)
    botocore_log.setLevel(logging.DEBUG)
    try:
        auth = pool.authorizer()
        headers = [
            basic("alice"),
            basic("alice"),  # cached
            basic("alice", "Wrong-Password-123"),
            basic("nobody", PASSWORD),
            basic("", PASSWORD),
            "Basic !!!" + PASSWORD,
        ]
        for header in headers:
            auth.authorize(event(header))
        output = capsys.readouterr()
    finally:
        logs.setup("INFO")
        botocore_log.removeHandler(spy)
        botocore_log.setLevel(logging.NOTSET)
    text = output.out + output.err
    for secret in (PASSWORD, "Wrong-Password-123", *headers, *(h.split()[-1] for h in headers)):
        assert secret not in text
    assert "eyJ" not in text  # no JWT
    entries = [json.loads(line) for line in output.out.splitlines()]
    outcomes = [
        (e["username"], e["authenticated"]) for e in entries if e["message"] == "authentication"
    ]
    assert outcomes == [
        ("alice", True),
        ("alice", True),
        ("alice", False),
        ("nobody", False),
        (None, False),
        (None, False),
    ]


# --- Settings and the Lambda entry point -------------------------------------------------------


def test_settings_from_environment() -> None:
    settings = config.load_authorizer(
        {
            config.USER_POOL_ID: "eu-west-1_AbC123",
            config.CLIENT_ID: "client123",
            config.AUTH_CACHE_TTL: "60",
            config.LOG_LEVEL: "debug",
        }
    )
    assert settings.region == "eu-west-1"
    assert settings.uploaders_group == "uploaders"
    assert (settings.cache_ttl, settings.negative_ttl, settings.log_level) == (60, 30, "DEBUG")
    assert settings.cognito_endpoint_url is None
    assert (
        config.load_authorizer(
            {
                config.USER_POOL_ID: "eu-west-1_AbC123",
                config.CLIENT_ID: "c",
                config.AUTH_CACHE_TTL: "5",
            }
        ).negative_ttl
        == 5
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {config.USER_POOL_ID: ""},
        {config.USER_POOL_ID: "not-a-pool"},
        {config.CLIENT_ID: ""},
        {config.AUTH_CACHE_TTL: "soon"},
        {config.AUTH_CACHE_TTL: "-1"},
        {config.AUTH_CACHE_TTL: "86400"},
        {config.LOG_LEVEL: "LOUD"},
        {config.COGNITO_ENDPOINT_URL: "localhost:9000"},
    ],
)
def test_bad_settings_raise(overrides: dict[str, str]) -> None:
    env = {config.USER_POOL_ID: "us-east-1_abc", config.CLIENT_ID: "c", **overrides}
    with pytest.raises(config.ConfigError):
        config.load_authorizer(env)


@pytest.fixture
def cold_container() -> Iterator[None]:
    """The handler's per-container authorizer not made yet, and forgotten afterwards."""
    authz._container_authorizer.cache_clear()
    yield
    authz._container_authorizer.cache_clear()


def test_handler_reads_the_environment_once(
    pool: Pool, monkeypatch: pytest.MonkeyPatch, cold_container: None
) -> None:
    pool.add_user("alice", upload=True)
    monkeypatch.setenv(config.USER_POOL_ID, pool.pool_id)
    monkeypatch.setenv(config.CLIENT_ID, pool.client_id)

    class Context:
        aws_request_id = "req-1"

    result = authz.handler(event(basic("alice")), Context())
    assert context(result) == {
        "authenticated": True,
        "username": "alice",
        "uploader": True,
        "groups": '["uploaders"]',
        "upload_token": False,
    }
    first = authz._container_authorizer()
    authz.handler(event(), Context())
    assert authz._container_authorizer() is first
    assert pool.calls == []  # its own client, made once; the fixture's counter is not on it


def test_unexpected_errors_are_unauthenticated_everywhere(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``authorize`` itself never raises, so Lambda and local mode (which calls it directly)
    answer alike."""
    broken = pool.authorizer()

    def boom(event: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(broken, "verdict", boom)
    assert context(broken.authorize(event(basic("alice")))) == UNAUTHENTICATED
    monkeypatch.setattr(authz, "_container_authorizer", lambda: broken)
    assert context(authz.handler(event(basic("alice")), None)) == UNAUTHENTICATED


# --- Helpers ----------------------------------------------------------------------------------


class FakeCognito:
    def __init__(self, error: str) -> None:
        self.error = error
        self.calls = 0

    def initiate_auth(self, **_: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.calls += 1
        raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "InitiateAuth")


def fake_authorizer(client: Any) -> authz.Authorizer:
    settings = config.AuthorizerSettings(user_pool_id="us-east-1_abc", client_id="c")
    return authz.Authorizer(settings, client)
