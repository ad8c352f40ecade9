"""A fake CI OIDC provider on loopback: discovery document, JWKS, and a GitHub-Actions-style
token endpoint (``?audience=...`` with ``Authorization: bearer <request token>`` → ``{"value":
jwt}``), as uv asks for it with ``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN``."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "fake-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeOidc:
    """Serves ``issuer`` (``http://127.0.0.1:PORT``); ``claims`` go into every token the
    token endpoint signs, on top of iss/aud/iat/nbf/exp."""

    claims: dict[str, Any] = field(default_factory=dict)
    request_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    requests: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def token_request_url(self) -> str:
        return f"{self.issuer}/token?kind=actions"  # uv appends &audience=...

    def sign(
        self,
        audience: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KID,
        lifetime: int = 300,
        issued: float | None = None,
        **claims: Any,
    ) -> str:
        now = int(issued if issued is not None else time.time())
        payload = {
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "sub": "repo:acme/widgets:ref:refs/heads/main",
            **self.claims,
            **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def start(self) -> FakeOidc:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(parts.path)
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, {"issuer": fake.issuer, "jwks_uri": f"{fake.issuer}/jwks"})
                elif parts.path == "/jwks":
                    self._json(200, fake.jwks())
                elif parts.path == "/token":
                    expected = f"bearer {fake.request_token}"
                    if self.headers.get("Authorization", "").lower() != expected.lower():
                        self._json(401, {"message": "bad request token"})
                        return
                    audience = parse_qs(parts.query).get("audience", [""])[-1]
                    self._json(200, {"value": fake.sign(audience)})
                else:
                    self._json(404, {"message": "not found"})

            def _json(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
