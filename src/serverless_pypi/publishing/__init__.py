"""Trusted publishing (OIDC) and upload rights.

``publishers`` (the configured trusted publishers and project globs, pure and cheap: read at
config load), ``rights`` (who may upload which project), ``discovery`` (an issuer's keys,
fetched with bounds), ``oidc`` (verifying a CI provider's token), ``tokens`` (short-lived upload
tokens signed with a KMS HMAC key) (the HTTP routes are ``api/oidc.py``). Everything but
``publishers`` and ``rights`` is imported only on the mint and token-upload paths: PyJWT and
cryptography never load on the read path.
"""
