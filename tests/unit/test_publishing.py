"""Trusted-publisher configuration, upload rights, upload tokens (KMS in moto), key discovery
bounds and OIDC token checks, beneath the e2e tests (tests/e2e/test_e2e_trusted_publishing.py)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from support.fake_oidc import FakeOidc, new_key

from serverless_pypi import config
from serverless_pypi.errors import Forbidden
from serverless_pypi.publishing import discovery, oidc, tokens
from serverless_pypi.publishing.publishers import (
    PublisherConfigError,
    parse_permissions,
    parse_publishers,
)
from serverless_pypi.publishing.rights import Grant, group_globs

GITHUB = "https://token.actions.githubusercontent.com"


def entry(**overrides: Any) -> str:
    value = {"issuer": GITHUB, "claims": {"repository": "acme/widgets"}, "projects": ["acme-*"]}
    value.update(overrides)
    return json.dumps([value])


# -- configuration -----------------------------------------------------------------------------


def test_publishers_parse() -> None:
    (publisher,) = parse_publishers(entry(claims={"repository": "acme/w", "ref": "refs/tags/v1"}))
    assert publisher.issuer == GITHUB
    assert publisher.claims == (("ref", "refs/tags/v1"), ("repository", "acme/w"))
    assert publisher.projects == ("acme-*",)
    assert publisher.matches({"repository": "acme/w", "ref": "refs/tags/v1"}) is None
    assert publisher.matches({"repository": "evil/w", "ref": "refs/tags/v1"}) == "repository"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (entry(claims={}), "at least one claim"),
        (entry(projects=[]), "non-empty list of globs"),
        (entry(issuer="http://gitlab.com"), "https URL"),
        (entry(issuer="http://127.0.0.1:9"), "https URL"),  # loopback http: local mode only
        (entry(claims={"aud": "x"}), "'aud' is not allowed"),
        (entry(projects=["Acme/*"]), "normalized names"),
        (entry(extra=1), "unknown keys"),
        ("{}", "JSON list"),
        ("[", "not JSON"),
    ],
)
def test_bad_publishers_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(PublisherConfigError, match="trusted publisher"):
        parse_publishers(text)
    with pytest.raises(PublisherConfigError) as caught:
        parse_publishers(text)
    assert reason in str(caught.value)


def test_loopback_http_issuer_only_when_allowed() -> None:
    text = entry(issuer="http://127.0.0.1:8000")
    assert parse_publishers(text, allow_loopback_http=True)[0].issuer == "http://127.0.0.1:8000"
    with pytest.raises(PublisherConfigError):
        parse_publishers(entry(issuer="http://10.0.0.1"), allow_loopback_http=True)


def test_config_load_checks_publishing() -> None:
    base = {config.BUCKET: "b", config.TRUSTED_PUBLISHERS: entry()}
    with pytest.raises(config.ConfigError, match="needs"):
        config.load(base)
    with pytest.raises(config.ConfigError, match="trusted publisher 1"):
        config.load({**base, config.TRUSTED_PUBLISHERS: entry(claims={})})
    settings = config.load(
        {
            **base,
            config.OIDC_AUDIENCE: "pypi-acme",
            config.UPLOAD_TOKEN_KEY_ID: "arn:aws:kms:us-east-1:1:key/k",
            config.UPLOAD_PERMISSIONS: '{"team-a": ["acme-a-*"]}',
        }
    )
    assert settings.trusted_publishers[0].projects == ("acme-*",)
    assert settings.upload_permissions == (("team-a", ("acme-a-*",)),)
    assert settings.upload_token_ttl == config.DEFAULT_UPLOAD_TOKEN_TTL
    with pytest.raises(config.ConfigError, match="between"):
        config.load({config.BUCKET: "b", config.UPLOAD_TOKEN_TTL: "86400"})


def test_permissions_and_grants() -> None:
    permissions = parse_permissions('{"team-a": ["acme-a-*"], "team-b": ["acme-b-*", "x"]}')
    assert group_globs(("team-b", "other"), permissions) == ("acme-b-*", "x")
    assert group_globs(("other",), permissions) == ()
    grant = Grant("User 'alice'", ("acme-a-*",))
    grant.check("acme-a-tool")
    with pytest.raises(Forbidden, match="'acme-b-tool'"):
        grant.check("acme-b-tool")
    Grant("User 'bob'", None).check("anything")
    with pytest.raises(PublisherConfigError):
        parse_permissions('{"team-a": []}')


# -- upload tokens -----------------------------------------------------------------------------


@pytest.fixture
def mac() -> Iterator[tokens.KmsMac]:
    from moto import mock_aws

    with mock_aws():
        found = tokens.KmsMac("placeholder", "us-east-1")
        key = found.client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        found.key_id = key["KeyMetadata"]["Arn"]
        yield found


def test_token_round_trip(mac: tokens.KmsMac) -> None:
    token, expires = tokens.mint(mac, "gh acme/widgets", ("acme-*",), 900)
    assert expires - time.time() == pytest.approx(900, abs=5)
    granted = tokens.verify(mac, token)
    assert granted.projects == ("acme-*",) and granted.publisher == "gh acme/widgets"
    header = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    assert tokens.token_password(header) == token
    assert tokens.token_password("Basic " + base64.b64encode(b"alice:pw").decode()) is None
    assert tokens.token_password("Basic " + base64.b64encode(b"__token__x:pw").decode()) is None


def test_tampered_expired_and_foreign_tokens_are_refused(mac: tokens.KmsMac) -> None:
    token, _ = tokens.mint(mac, "p", ("acme-*",), 900)
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["projects"] = ["*"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(tokens.TokenRefused, match="not issued by this index"):
        tokens.verify(mac, f"{prefix}.{forged_payload}.{signature}")
    with pytest.raises(tokens.TokenRefused, match="expired"):
        tokens.verify(mac, token, clock=lambda: time.time() + 901)
    other = mac.client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    foreign = tokens.KmsMac(other["KeyMetadata"]["Arn"], "us-east-1")
    foreign._client = mac.client
    with pytest.raises(tokens.TokenRefused, match="not issued by this index"):
        tokens.verify(mac, tokens.mint(foreign, "p", ("acme-*",), 900)[0])
    for junk in ("", "spt1.", "spt1.!!.!!", "ghp_abc", "spt1." + "a" * 7000):
        with pytest.raises(tokens.TokenRefused):
            tokens.verify(mac, junk)


# -- key discovery -----------------------------------------------------------------------------


class Counting:
    """A fake fetch: the provider's documents, counted."""

    def __init__(self, provider: FakeOidc) -> None:
        self.provider = provider
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            document = {"issuer": self.provider.issuer, "jwks_uri": f"{self.provider.issuer}/jwks"}
            return json.dumps(document).encode()
        return json.dumps(self.provider.jwks()).encode()


@pytest.fixture
def provider() -> Iterator[FakeOidc]:
    fake = FakeOidc(claims={"repository": "acme/widgets"}).start()
    yield fake
    fake.stop()


def test_keys_are_cached_and_unknown_kids_refetch_at_most_once_per_interval(
    provider: FakeOidc,
) -> None:
    now = [1000.0]
    fetch = Counting(provider)
    keys = discovery.KeySource(allow_loopback_http=True, fetch=fetch, clock=lambda: now[0])
    keys.key(provider.issuer, "fake-key-1")
    keys.key(provider.issuer, "fake-key-1")
    assert len(fetch.urls) == 2  # discovery + JWKS, once
    for _ in range(50):  # a flood of made-up key ids: no fetch within the interval
        with pytest.raises(discovery.KeysUnavailable, match="no signing key"):
            keys.key(provider.issuer, "made-up")
    assert len(fetch.urls) == 2
    now[0] += discovery.REFRESH_INTERVAL
    with pytest.raises(discovery.KeysUnavailable):
        keys.key(provider.issuer, "made-up")
    assert len(fetch.urls) == 4
    now[0] += discovery.KEYS_TTL
    keys.key(provider.issuer, "fake-key-1")
    assert len(fetch.urls) == 6  # expired: fetched again


def test_discovery_must_name_its_issuer_and_an_https_jwks(provider: FakeOidc) -> None:
    def lying(url: str) -> bytes:
        return json.dumps({"issuer": "https://elsewhere", "jwks_uri": "https://x/j"}).encode()

    with pytest.raises(discovery.KeysUnavailable, match="another issuer"):
        discovery.KeySource(fetch=lying).key(provider.issuer, None)

    def plain(url: str) -> bytes:
        return json.dumps({"issuer": provider.issuer, "jwks_uri": "http://x.example/j"}).encode()

    with pytest.raises(discovery.KeysUnavailable, match="https"):
        discovery.KeySource(fetch=plain).key(provider.issuer, None)


@pytest.fixture
def hostile() -> Iterator[str]:
    """A loopback server that answers too much, or redirects."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/")
                self.end_headers()
                return
            body = b"{" + b" " * (discovery.MAX_DOCUMENT_BYTES + 10) + b"}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetches_are_bounded(hostile: str) -> None:
    with pytest.raises(discovery.KeysUnavailable, match="larger than"):
        discovery.fetch_bounded(f"{hostile}/big")
    with pytest.raises(discovery.KeysUnavailable, match="could not fetch"):
        discovery.fetch_bounded(f"{hostile}/redirect")


# -- OIDC token checks -------------------------------------------------------------------------


def verify(provider: FakeOidc, token: str) -> Any:
    publishers = parse_publishers(entry(issuer=provider.issuer), allow_loopback_http=True)
    keys = discovery.KeySource(allow_loopback_http=True)
    return oidc.verify(token, publishers, "aud-x", keys)


def test_a_good_token_names_its_publisher(provider: FakeOidc) -> None:
    publisher, claims = verify(provider, provider.sign("aud-x"))
    assert publisher.projects == ("acme-*",) and claims["repository"] == "acme/widgets"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.sign("aud-x", nbf=int(time.time()) + 600), "not valid yet (nbf)"),
        (lambda p: p.sign("aud-x", iat=int(time.time()) + 600), "issued in the future"),
        (lambda p: p.sign("aud-x", kid="other-kid", key=new_key()), "key the issuer does not"),
        (lambda p: jwt.encode({"iss": p.issuer, "aud": "aud-x"}, "k" * 32), "'HS256'"),
        (
            lambda p: jwt.encode({"iss": p.issuer}, None, algorithm="none"),
            "algorithm 'none'",
        ),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(provider: FakeOidc, make: Any, reason: str) -> None:
    with pytest.raises(oidc.MintRefused) as caught:
        verify(provider, make(provider))
    assert reason in caught.value.message
    assert caught.value.status == 422


def test_unreachable_issuer_is_503(provider: FakeOidc) -> None:
    token = provider.sign("aud-x")
    provider.stop()
    with pytest.raises(oidc.MintRefused) as caught:
        verify(provider, token)
    assert caught.value.status == 503
