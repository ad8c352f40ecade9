"""``/_/oidc/audience`` and ``/_/oidc/mint-token``: PyPI's trusted-publishing exchange, as
``uv publish --trusted-publishing`` speaks it to any index.

Both are reachable without Basic auth (the caller is a CI job with an OIDC token, not a user).
Answers are JSON; a refusal is ``{"message": ..., "errors": [{"code", "description"}]}`` (the
shape PyPI uses, which uv prints). ``/_/oidc/burn-token`` is not served: tokens expire on
their own within minutes, and uv treats its 404 as a warning only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from serverless_pypi import config
from serverless_pypi.api.gateway import NO_STORE, HttpError, Request, Response
from serverless_pypi.publishing.rights import Grant

log = logging.getLogger(__name__)

#: The mint request is ``{"token": "<jwt>"}``: a few KB at most.
MAX_BODY_BYTES = 16 * 1024


def json_response(status: int, document: dict[str, Any]) -> Response:
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/json", "Cache-Control": NO_STORE}
    return Response(status, body, headers)


def refusal(status: int, message: str, code: str = "invalid-token") -> Response:
    return json_response(
        status, {"message": message, "errors": [{"code": code, "description": message}]}
    )


class OidcRoutes:
    """The exchange for one configuration; keys and the KMS client live as long as the
    container."""

    def __init__(self, settings: config.Settings) -> None:
        from serverless_pypi.publishing.discovery import KeySource
        from serverless_pypi.publishing.tokens import KmsMac

        self.settings = settings
        self.keys = KeySource(allow_loopback_http=settings.oidc_allow_loopback_http)
        key_id = settings.upload_token_key_id
        self.mac = KmsMac(key_id, settings.region, settings.kms_endpoint_url) if key_id else None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.trusted_publishers) and self.mac is not None

    def handle(self, request: Request, name: str) -> Response:
        if not self.enabled:
            return refusal(404, "Trusted publishing is not configured on this index.", "disabled")
        if name == "audience":
            if request.method not in ("GET", "HEAD"):
                return refusal(405, "Method not allowed: GET the audience.", "method")
            return json_response(200, {"audience": self.settings.oidc_audience})
        if name == "mint-token":
            if request.method != "POST":
                return refusal(405, "Method not allowed: POST the token.", "method")
            return self.mint(request)
        return refusal(404, f"Not found: no OIDC route {name!r}.", "not-found")

    def upload_grant(self, token: str) -> Grant:
        """What an upload token allows; 401 when it is invalid or expired (never logged)."""
        from serverless_pypi.publishing import tokens

        if self.mac is None:
            raise HttpError(401, "Upload tokens are not accepted: trusted publishing is off.")
        try:
            granted = tokens.verify(self.mac, token)
        except tokens.TokenRefused as exc:
            log.info("upload token refused", extra={"reason": exc.message})
            raise HttpError(401, exc.message) from None
        except tokens.KeyUnavailable as exc:
            raise HttpError(503, exc.message) from None
        return Grant(
            f"Trusted publisher {granted.publisher!r}", granted.projects, granted.publisher
        )

    def mint(self, request: Request) -> Response:
        from serverless_pypi.publishing import oidc, tokens

        assert self.mac is not None
        if len(request.body) > MAX_BODY_BYTES:
            return refusal(413, f"Request too large: at most {MAX_BODY_BYTES} bytes.", "invalid")
        try:
            document = json.loads(request.body)
        except ValueError:
            document = None
        token = document.get("token") if isinstance(document, dict) else None
        if not isinstance(token, str):
            return refusal(400, 'Malformed request: expected {"token": "<OIDC token>"}.', "invalid")
        try:
            publisher, claims = oidc.verify(
                token, self.settings.trusted_publishers, self.settings.oidc_audience, self.keys
            )
        except oidc.MintRefused as exc:
            log.info("mint refused", extra={"status": exc.status, "reason": exc.message})
            return refusal(exc.status, exc.message)
        try:
            upload_token, expires = tokens.mint(
                self.mac, publisher.name, publisher.projects, self.settings.upload_token_ttl
            )
        except tokens.KeyUnavailable as exc:
            return refusal(503, exc.message, "unavailable")
        except tokens.TokenRefused as exc:  # too many globs for one token: a config problem
            return refusal(422, exc.message, "invalid-publisher")
        log.info(
            "minted upload token",
            extra={
                "publisher": publisher.name,
                "projects": list(publisher.projects),
                "expires": expires,
                "subject": claims.get("sub"),
            },
        )
        return json_response(200, {"success": True, "token": upload_token, "expires": expires})
