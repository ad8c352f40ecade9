"""``serve --trusted-publishers FILE`` and ``--tls-cert/--tls-key``: what the API needs for
trusted publishing in local mode (the environment Terraform would set), and the TLS context.

The upload-token key is a KMS HMAC key in the embedded moto, made at each start (tokens live
minutes, so none need to survive a restart). http issuers are accepted on loopback only, so a
test's fake CI provider can serve its keys without a certificate.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serverless_pypi import config
from serverless_pypi.local.emulator import DUMMY_CREDENTIALS, Emulator
from serverless_pypi.publishing.publishers import (
    PublisherConfigError,
    parse_permissions,
    parse_publishers,
)

#: The audience local mode announces at ``/_/oidc/audience``.
LOCAL_AUDIENCE = "serverless-pypi-local"
MAX_FILE_BYTES = 256 * 1024


def read_config_file(option: str, path: Path, parse: Callable[[str], object]) -> str:
    """The file's JSON, checked now so that a bad entry stops ``serve`` with its message."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise config.ConfigError(f"{option}: cannot read {path}: {exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise config.ConfigError(f"{option}: {path} is over {MAX_FILE_BYTES} bytes")
    text = raw.decode("utf-8", "replace")
    try:
        parse(text)
    except PublisherConfigError as exc:
        raise config.ConfigError(f"{option} {path}: {exc}") from None
    return text


def read_publishers(path: Path) -> str:
    return read_config_file(
        "--trusted-publishers", path, lambda text: parse_publishers(text, allow_loopback_http=True)
    )


def read_permissions(path: Path) -> dict[str, str]:
    return {
        config.UPLOAD_PERMISSIONS: read_config_file("--upload-permissions", path, parse_permissions)
    }


def publishing_env(emulator: Emulator, publishers: str) -> dict[str, str]:
    """The API's trusted-publishing variables, with a fresh HMAC key in the emulator's KMS."""
    import boto3

    options: dict[str, Any] = {"endpoint_url": emulator.endpoint_url, **DUMMY_CREDENTIALS}
    kms: Any = boto3.client("kms", region_name=emulator.region, **options)
    key = kms.create_key(
        KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description="upload tokens"
    )
    return {
        config.TRUSTED_PUBLISHERS: publishers,
        config.OIDC_AUDIENCE: LOCAL_AUDIENCE,
        config.UPLOAD_TOKEN_KEY_ID: key["KeyMetadata"]["KeyId"],
        config.KMS_ENDPOINT_URL: emulator.endpoint_url,
        config.OIDC_ALLOW_LOOPBACK_HTTP: "true",
    }


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise config.ConfigError(f"--tls-cert/--tls-key: cannot load: {exc}") from None
    return context
