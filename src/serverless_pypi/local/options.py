"""``serve``'s command-line options: the parser's arguments and their consistency checks."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from serverless_pypi import config

DEFAULT_DATA_DIR = ".serverless-pypi"
DEFAULT_BUCKET = "pypi"


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path | None = None
    ephemeral: bool = False
    bucket: str | None = None  # an existing bucket: no moto, no persistence
    endpoint_url: str | None = None
    region: str | None = None
    url_ttl: int | None = None
    fallback_index_url: str | None = None
    auth: bool = False  # embedded Cognito + the Lambda authorizer
    s3_port: int = 0  # the embedded S3 emulator's; 0: a free one
    upstream_index_url: str | None = None
    upstream_block: tuple[str, ...] = ()
    web_image_hosts: tuple[str, ...] = ()  # images the web pages' descriptions may show
    upstream_min_age: str | None = None
    upstream_page_ttl: str | None = None
    trusted_publishers: Path | None = None  # JSON list, as the Terraform input
    upload_permissions: Path | None = None  # JSON object group → globs, as the Terraform input
    tls_cert: Path | None = None
    tls_key: Path | None = None


def _url_ttl(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer number of seconds") from None
    if not config.MIN_URL_TTL <= value <= config.MAX_URL_TTL:
        raise argparse.ArgumentTypeError(
            f"must be between {config.MIN_URL_TTL} and {config.MAX_URL_TTL}"
        )
    return value


def _port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535")
    return value


def _duration(raw: str) -> str:
    if config.parse_duration(raw) is None:
        raise argparse.ArgumentTypeError("must be a duration such as 90s, 10m, 72h or 7d")
    return raw


def _block_glob(raw: str) -> str:
    glob = config.block_glob(raw)
    if glob is None:
        raise argparse.ArgumentTypeError("must be a glob over project names, e.g. acme-*")
    return glob


def _add_upstream_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--web-image-host",
        dest="web_image_hosts",
        action="append",
        default=[],
        metavar="HOST",
        help="let the web pages show images from HOST (https) in descriptions, e.g. "
        "img.shields.io; other remote images are dropped; repeatable",
    )
    parser.add_argument(
        "--upstream-index-url",
        default=None,
        help="proxy and cache this index (e.g. https://pypi.org/simple/) for projects that "
        "have no private file here",
    )
    parser.add_argument(
        "--upstream-block",
        type=_block_glob,
        action="append",
        default=[],
        metavar="GLOB",
        help="never take projects matching GLOB (over normalized names, e.g. acme-*) from the "
        "upstream index; repeatable",
    )
    parser.add_argument(
        "--upstream-min-age",
        type=_duration,
        default=None,
        help="cooldown: hide upstream files younger than this (e.g. 72h, 7d; default: off)",
    )
    parser.add_argument(
        "--upstream-page-ttl",
        type=_duration,
        default=None,
        help="how long an upstream page is served from the cache (default: 10m)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand's options."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8080,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--s3-port",
        type=_port,
        default=0,
        help="port of the embedded S3 emulator (the `s3:` line); default: a free one",
    )
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"keep the embedded bucket here across restarts (default: ./{DEFAULT_DATA_DIR})",
    )
    store.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep the embedded bucket in a temporary directory, deleted at exit",
    )
    parser.add_argument(
        "--bucket",
        default=None,
        help="serve this existing bucket instead of an embedded one "
        "(credentials from the environment; no persistence)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="S3 endpoint of --bucket (an S3-compatible store); default AWS",
    )
    parser.add_argument(
        "--region",
        default=None,
        help="bucket region (default: AWS_REGION, AWS_DEFAULT_REGION or us-east-1)",
    )
    parser.add_argument(
        "--url-ttl",
        type=_url_ttl,
        default=None,
        help=f"lifetime of presigned download URLs in seconds (default: {config.DEFAULT_URL_TTL})",
    )
    parser.add_argument(
        "--fallback-index-url",
        default=None,
        help="index to redirect to for projects that do not exist here",
    )
    parser.add_argument(
        "--auth",
        action="store_true",
        help="require users from an embedded Cognito user pool, checked by the Lambda "
        "authorizer (manage them with `serverless-pypi users`; they are kept in the data "
        "directory)",
    )
    _add_upstream_arguments(parser)
    parser.add_argument(
        "--trusted-publishers",
        type=Path,
        default=None,
        metavar="FILE",
        help="trusted publishers (a JSON list of {issuer, claims, projects}) that may mint "
        "upload tokens at /_/oidc/mint-token; http issuers are accepted on loopback only",
    )
    parser.add_argument(
        "--upload-permissions",
        type=Path,
        default=None,
        metavar="FILE",
        help='with --auth: Cognito groups mapped to project globs ({"team-a": ["acme-a-*"]}); '
        "the uploaders group may upload every project",
    )
    parser.add_argument(
        "--tls-cert", type=Path, default=None, metavar="FILE", help="serve HTTPS: PEM certificate"
    )
    parser.add_argument(
        "--tls-key", type=Path, default=None, metavar="FILE", help="serve HTTPS: PEM private key"
    )


def from_arguments(args: argparse.Namespace) -> Options:
    """The options of parsed arguments; ``config.ConfigError`` for combinations that make no
    sense (argparse can only express some of them)."""
    if args.endpoint_url and not args.bucket:
        raise config.ConfigError("--endpoint-url needs --bucket")
    if args.bucket and (args.data_dir is not None or args.ephemeral):
        raise config.ConfigError("--bucket serves an existing bucket: no --data-dir/--ephemeral")
    if args.bucket and args.auth:
        raise config.ConfigError("--auth needs the embedded bucket (no --bucket)")
    if args.bucket and args.s3_port:
        raise config.ConfigError("--s3-port is the embedded bucket's; --bucket has --endpoint-url")
    if args.upstream_index_url and args.fallback_index_url:
        raise config.ConfigError(
            "--upstream-index-url replaces --fallback-index-url: give only one"
        )
    if args.bucket and args.trusted_publishers:
        raise config.ConfigError("--trusted-publishers needs the embedded bucket (no --bucket)")
    if args.upload_permissions and not args.auth:
        raise config.ConfigError("--upload-permissions needs --auth")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise config.ConfigError("--tls-cert and --tls-key go together")
    return Options(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        ephemeral=args.ephemeral,
        bucket=args.bucket,
        endpoint_url=args.endpoint_url,
        region=args.region,
        url_ttl=args.url_ttl,
        fallback_index_url=args.fallback_index_url,
        auth=args.auth,
        s3_port=args.s3_port,
        upstream_index_url=args.upstream_index_url,
        upstream_block=tuple(args.upstream_block),
        web_image_hosts=config.image_hosts(",".join(args.web_image_hosts)),
        upstream_min_age=args.upstream_min_age,
        upstream_page_ttl=args.upstream_page_ttl,
        trusted_publishers=args.trusted_publishers,
        upload_permissions=args.upload_permissions,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
