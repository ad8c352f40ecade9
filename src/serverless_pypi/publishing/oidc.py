"""Verifying a CI provider's OIDC token against the trusted publishers (PyJWT).

Each refusal says which check failed, never the token itself. Statuses: 422 for a token that
is not valid (PyPI answers the same), 403 for a valid token no trusted publisher accepts, 503
when the issuer's keys cannot be fetched (its outage, not the caller's fault).
"""

from __future__ import annotations

from typing import Any

import jwt

from serverless_pypi.publishing.discovery import KeySource, KeysUnavailable
from serverless_pypi.publishing.publishers import Publisher

MAX_TOKEN_LENGTH = 8192
#: Asymmetric algorithms only: an ``HS256`` token "signed" with a public key is refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
#: Clock skew allowed between the CI provider and Lambda, in seconds.
LEEWAY = 30


class MintRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def verify(
    token: str, publishers: tuple[Publisher, ...], audience: str, keys: KeySource
) -> tuple[Publisher, dict[str, Any]]:
    """The publisher that accepts ``token``, and the token's claims; ``MintRefused`` else."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise MintRefused(
            422, f"Invalid token: empty or longer than {MAX_TOKEN_LENGTH} characters."
        )
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise MintRefused(422, "Invalid token: not a JWT.") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise MintRefused(422, f"Invalid token: signing algorithm {algorithm!r} is not accepted.")
    issuer = unverified.get("iss")
    candidates = [p for p in publishers if p.issuer == issuer]
    if not isinstance(issuer, str) or not candidates:
        raise MintRefused(422, f"Invalid token: issuer {issuer!r} is not a trusted publisher.")
    kid = header.get("kid")
    try:
        key = keys.key(issuer, kid if isinstance(kid, str) else None)
    except KeysUnavailable as exc:
        if "no signing key" in exc.message:
            raise MintRefused(
                422, "Invalid token: signed by a key the issuer does not publish."
            ) from None
        raise MintRefused(503, f"The issuer's keys are unavailable ({exc.message}).") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
    except jwt.InvalidSignatureError:
        raise MintRefused(422, "Invalid token: the signature does not verify.") from None
    except jwt.ExpiredSignatureError:
        raise MintRefused(422, "Invalid token: expired (exp).") from None
    except jwt.ImmatureSignatureError as exc:  # PyJWT says which of iat and nbf
        if "iat" in str(exc):
            raise MintRefused(422, "Invalid token: issued in the future (iat).") from None
        raise MintRefused(422, "Invalid token: not valid yet (nbf).") from None
    except jwt.InvalidIssuedAtError:
        raise MintRefused(422, "Invalid token: issued in the future (iat).") from None
    except jwt.InvalidAudienceError:
        raise MintRefused(422, f"Invalid token: audience (aud) is not {audience!r}.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise MintRefused(422, f"Invalid token: no {exc.claim!r} claim.") from None
    except jwt.PyJWTError as exc:
        raise MintRefused(422, f"Invalid token: {type(exc).__name__}.") from None
    mismatched = []
    for publisher in candidates:
        claim = publisher.matches(claims)
        if claim is None:
            return publisher, claims
        mismatched.append(claim)
    names = ", ".join(sorted(set(mismatched)))
    raise MintRefused(
        403, f"No trusted publisher of this issuer accepts the token: claim {names} does not match."
    )
