"""``serverless-pypi serve``: options, start-up order, and a clean stop.

Start-up order matters: the bucket is refilled from the data directory *before* notifications
are switched on (a restore is not an upload), the HTTP server is listening *before* the SNS
subscription exists (moto delivers synchronously), and the ``index:``/``s3:`` lines (and
``cognito:`` with ``--auth``) are printed only when everything is ready, so a script that waits
for them can use the server at once.

``--auth`` adds a Cognito user pool to the embedded moto (users restored from the data
directory, see ``cognito.py``) and runs the Lambda authorizer before the API for every request,
as API Gateway does; the API then requires credentials (``auth=basic``) and uploads need the
uploaders group (``uploads=authenticated``).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from serverless_pypi import config
from serverless_pypi.local.persistence import DataDirError

log = logging.getLogger("serverless_pypi.local")

DEFAULT_DATA_DIR = ".serverless-pypi"
DEFAULT_BUCKET = "pypi"
SNS_PATH_PREFIX = "/_local/sns/"


class App(Protocol):
    def handle(self, event: dict[str, Any], context: Any) -> Any: ...


class ReindexApp(App, Protocol):
    def rebuild_all(self) -> object: ...


AppFactory = Callable[[config.Settings], Any]
#: Makes the authorizer's Lambda handler from its environment (the variables Terraform sets).
AuthorizerFactory = Callable[[dict[str, str]], Callable[[dict[str, Any], Any], Any]]


def _api_factory(settings: config.Settings) -> App:
    from serverless_pypi.api.app import ApiApp

    return ApiApp(settings)


def _reindex_factory(settings: config.Settings) -> ReindexApp:
    from serverless_pypi.reindex.app import ReindexApp as Reindex

    return Reindex(settings)


def _authorizer_factory(environ: dict[str, str]) -> Callable[[dict[str, Any], Any], Any]:
    """The authorizer Lambda as its handler runs it: settings from the environment it would
    have, one client and one cache for the server's lifetime (a warm container)."""
    from serverless_pypi import logs
    from serverless_pypi.authorizer.app import Authorizer, load_settings

    authorizer = Authorizer(load_settings(environ))

    def handle(event: dict[str, Any], context: Any) -> Any:
        token = logs.request_id.set(str(getattr(context, "aws_request_id", "")) or None)
        try:
            return authorizer.authorize(event)
        finally:
            logs.request_id.reset(token)

    handle.clear_cache = authorizer.cache.clear  # type: ignore[attr-defined]
    return handle


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


@dataclass
class Running:
    """Everything ``start`` started, so that ``stop`` undoes exactly that."""

    index_url: str = ""
    s3_endpoint_url: str = ""
    bucket: str = ""
    settings: config.Settings | None = None
    server: Any = None
    emulator: Any = None
    data: Any = None
    temp_dir: Path | None = None
    cognito: Any = None  # cognito.Pool with --auth
    users: Any = None  # cognito.UserStore with --auth
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        """Stop in reverse start order; every step runs even if an earlier one fails."""
        while self._stops:
            step = self._stops.pop()
            try:
                step()
            except Exception:
                log.exception("error while stopping")


def _settings(
    options: Options, bucket: str, endpoint: str | None, uploads: str, auth: str = "none"
) -> config.Settings:
    """Settings through ``config.load`` (same validation as in Lambda), without touching
    ``os.environ``."""
    env = {
        config.BUCKET: bucket,
        config.UPLOADS: uploads,
        config.AUTH: auth,
        config.LOG_LEVEL: os.environ.get(config.LOG_LEVEL, ""),
        "AWS_REGION": options.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
    }
    if endpoint:
        env[config.S3_ENDPOINT_URL] = endpoint
    if options.url_ttl is not None:
        env[config.URL_TTL] = str(options.url_ttl)
    if options.fallback_index_url:
        env[config.FALLBACK_INDEX_URL] = options.fallback_index_url
    return config.load(env)


def start(
    options: Options,
    *,
    api_factory: AppFactory = _api_factory,
    reindex_factory: AppFactory = _reindex_factory,
    authorizer_factory: AuthorizerFactory = _authorizer_factory,
    out: TextIO | None = None,
) -> Running:
    """Start everything, then print the ``index:``/``s3:`` (and ``cognito:``) lines; on error
    clean up and raise."""
    out = out if out is not None else sys.stdout
    running = Running()
    try:
        if options.bucket:
            if options.auth:
                raise config.ConfigError("--auth needs the embedded bucket (no --bucket)")
            _start_external(options, running, api_factory, reindex_factory, out)
        else:
            _start_embedded(options, running, api_factory, reindex_factory, authorizer_factory, out)
    except BaseException:
        running.stop()
        raise
    print(f"index: {running.index_url}", file=out, flush=True)
    print(f"s3: {running.s3_endpoint_url} bucket={running.bucket}", file=out, flush=True)
    if running.cognito is not None:
        pool = running.cognito
        print(
            f"cognito: {pool.endpoint_url} user_pool_id={pool.user_pool_id}", file=out, flush=True
        )
    return running


def _start_server(options: Options, running: Running, api: App, region: str) -> Any:
    from serverless_pypi.local.server import LocalServer

    server = LocalServer(options.host, options.port, api.handle, region=region)
    running._stops.append(server.stop)
    server.start()
    running.server = server
    running.index_url = f"{server.loopback_url()}/simple/"
    return server


def _start_embedded(
    options: Options,
    running: Running,
    api_factory: AppFactory,
    reindex_factory: AppFactory,
    authorizer_factory: AuthorizerFactory,
    out: TextIO,
) -> None:
    from serverless_pypi.local.emulator import Emulator
    from serverless_pypi.local.persistence import DataDir, Mirror, restore
    from serverless_pypi.local.sns import SnsEndpoint

    if options.ephemeral:
        temp_dir = Path(tempfile.mkdtemp(prefix="serverless-pypi-"))
        running.temp_dir = temp_dir
        running._stops.append(lambda: shutil.rmtree(temp_dir, ignore_errors=True))
        root = temp_dir
    else:
        root = (options.data_dir or Path(DEFAULT_DATA_DIR)).resolve()
    data = DataDir(root)
    running.data = data
    running._stops.append(data.close)

    # The handlers' clients use the default credential chain; give them something to sign
    # with. Never overrides credentials the user set.
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy)

    region = _settings(options, DEFAULT_BUCKET, None, "off").region
    emulator = Emulator(DEFAULT_BUCKET, region)
    running._stops.append(emulator.stop)
    endpoint = emulator.start()
    running.emulator = emulator
    if options.auth:
        settings = _settings(options, DEFAULT_BUCKET, endpoint, "authenticated", "basic")
        authorizer = _start_cognito(running, emulator, root, authorizer_factory)
    else:
        settings = _settings(options, DEFAULT_BUCKET, endpoint, "unauthenticated-insecure")
        authorizer = None
    running.settings = settings
    api = api_factory(settings)
    reindex = reindex_factory(settings)

    restored = restore(emulator.s3, DEFAULT_BUCKET, data)
    log.info(
        "restored objects from the data directory",
        extra={"objects": restored, "data_dir": str(root)},
    )

    server = _start_server(options, running, api, region)
    server.authorizer = authorizer
    sns_path = SNS_PATH_PREFIX + secrets.token_urlsafe(16)
    subscription_arn = emulator.subscribe(server.loopback_url() + sns_path)
    server.sns = SnsEndpoint(
        bucket=DEFAULT_BUCKET,
        topic_arn=emulator.topic_arn,
        subscription_arn=subscription_arn,
        reindex=reindex.handle,
        mirror=Mirror(emulator.s3, DEFAULT_BUCKET, data),
        confirm_netloc=endpoint.removeprefix("http://"),
        region=region,
    )
    server.sns_path = sns_path
    emulator.notify()
    reindex.rebuild_all()

    running.s3_endpoint_url = endpoint
    running.bucket = DEFAULT_BUCKET
    if options.auth:
        print(
            "uploads: members of the uploaders group only; every request needs a user "
            "(add them with: serverless-pypi users add NAME --user-pool-id ID --endpoint-url URL)",
            file=out,
            flush=True,
        )
    else:
        if not _is_loopback(options.host):
            log.warning(
                "listening beyond this machine with unauthenticated uploads",
                extra={"host": options.host},
            )
        print(
            "uploads: enabled without authentication (local use only: anyone who can reach "
            f"{options.host}:{server.port} can upload)",
            file=out,
            flush=True,
        )
    print(f"data: {'(ephemeral) ' if options.ephemeral else ''}{root}", file=out, flush=True)


def _start_cognito(
    running: Running, emulator: Any, root: Path, authorizer_factory: AuthorizerFactory
) -> Callable[[dict[str, Any], Any], Any]:
    """Pool, client and group; users back from the data directory, saved after every change;
    the authorizer handler bound to the pool."""
    from serverless_pypi.local.cognito import UserStore, create_pool

    pool = create_pool(emulator.cognito)
    users = UserStore(root, pool, emulator.cognito)
    restored = users.restore()
    log.info("restored users from the data directory", extra={"users": restored})
    emulator.after_cognito_requests(users.sync_quietly)
    running._stops.append(users.sync_quietly)  # runs before the emulator stops
    running.cognito = pool
    running.users = users
    environ = {
        config.USER_POOL_ID: pool.user_pool_id,
        config.CLIENT_ID: pool.client_id,
        config.UPLOADERS_GROUP: pool.uploaders_group,
        config.COGNITO_ENDPOINT_URL: pool.endpoint_url,
        config.LOG_LEVEL: os.environ.get(config.LOG_LEVEL, ""),
        config.AUTH_CACHE_TTL: os.environ.get(config.AUTH_CACHE_TTL, ""),
    }
    handler = authorizer_factory(environ)
    clear_cache = getattr(handler, "clear_cache", None)
    if callable(clear_cache):
        users.on_change.append(clear_cache)
    return handler


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _start_external(
    options: Options,
    running: Running,
    api_factory: AppFactory,
    reindex_factory: AppFactory,
    out: TextIO,
) -> None:
    assert options.bucket
    settings = _settings(options, options.bucket, options.endpoint_url, "off")
    running.settings = settings
    api = api_factory(settings)
    reindex = reindex_factory(settings)
    # No events arrive from a bucket we did not wire up: build the derived index now.
    reindex.rebuild_all()
    _start_server(options, running, api, settings.region)
    running.s3_endpoint_url = (
        settings.s3_endpoint_url or f"https://s3.{settings.region}.amazonaws.com"
    )
    running.bucket = options.bucket
    print(
        "uploads: off (serving an existing bucket; the index is rebuilt only at start)",
        file=out,
        flush=True,
    )


# -- command line -------------------------------------------------------------------------------


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


def _options(args: argparse.Namespace) -> Options:
    if args.endpoint_url and not args.bucket:
        raise config.ConfigError("--endpoint-url needs --bucket")
    if args.bucket and (args.data_dir is not None or args.ephemeral):
        raise config.ConfigError("--bucket serves an existing bucket: no --data-dir/--ephemeral")
    if args.bucket and args.auth:
        raise config.ConfigError("--auth needs the embedded bucket (no --bucket)")
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
    )


def _setup_logging() -> None:
    """JSON lines on stderr: stdout carries the ``index:``/``s3:`` lines that scripts parse.

    The CLI may already have configured the package logger (on stdout, with ``--log-level``);
    keep its level and format, move its output to stderr.
    """
    from serverless_pypi.logs import (
        JsonFormatter,  # the handlers' format, so one log stream reads alike
    )

    package = logging.getLogger("serverless_pypi")
    streams = [h for h in package.handlers if isinstance(h, logging.StreamHandler)]
    for handler in streams:
        if handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
    if not streams:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        package.addHandler(handler)
        package.propagate = False
    if package.level == logging.NOTSET:
        level = (os.environ.get(config.LOG_LEVEL) or "INFO").upper()
        package.setLevel(level if level in config.LOG_LEVELS else "INFO")
    # Libraries that would log request details (signatures, presigned URLs) stay quiet.
    for name in ("botocore", "boto3", "urllib3", "s3transfer", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)


class _Stop(Exception):
    """Raised in the main thread by SIGTERM, handled like Ctrl-C."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C or SIGTERM; 0 on a clean stop, 2 for bad options, 1 if start fails."""
    try:
        options = _options(args)
    except config.ConfigError as exc:
        print(f"serverless-pypi serve: error: {exc}", file=sys.stderr)
        return 2
    _setup_logging()
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_stop) if in_main else None
    running: Running | None = None
    try:
        running = start(options)
        threading.Event().wait()
    except (KeyboardInterrupt, _Stop):
        pass
    except config.ConfigError as exc:
        print(f"serverless-pypi serve: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, DataDirError) as exc:  # port in use, data directory busy or unwritable
        print(f"serverless-pypi serve: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        log.exception("could not start")
        print(f"serverless-pypi serve: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if running is not None:
            running.stop()
        if in_main:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m serverless_pypi.local.serve`` (the CLI normally calls ``run``)."""
    parser = argparse.ArgumentParser(prog="serverless-pypi serve")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
