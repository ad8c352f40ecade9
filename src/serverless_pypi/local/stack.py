"""The local stack: start the bucket (embedded or existing), the handlers and the HTTP server in
the right order, and stop exactly what was started.

Start-up order matters: the bucket is refilled from the data directory *before* notifications
are switched on (a restore is not an upload), the queue's poller runs *before* the bucket
notifies, and ``start`` returns only when everything is ready.

``Options.auth`` adds a Cognito user pool to the embedded moto and runs the Lambda authorizer
before the API for every request, as API Gateway does (``auth.py``); the API then requires
credentials (``auth=basic``) and uploads need the uploaders group (``uploads=authenticated``).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from serverless_pypi import config
from serverless_pypi.local.auth import AuthorizerFactory, LocalAuthorizer, start_auth
from serverless_pypi.local.options import DEFAULT_BUCKET, DEFAULT_DATA_DIR, Options
from serverless_pypi.local.publishing import (
    publishing_env,
    read_permissions,
    read_publishers,
    tls_context,
)

log = logging.getLogger("serverless_pypi.local")


class App(Protocol):
    def handle(self, event: dict[str, Any], context: Any) -> Any: ...


class ReindexApp(App, Protocol):
    def rebuild_all(self) -> object: ...


AppFactory = Callable[[config.Settings], Any]


class PortInUse(Exception):
    """A port ``serve`` was told to listen on is taken; the message names the option."""


@contextmanager
def _port_of(option: str, host: str, port: int) -> Iterator[None]:
    """Turn EADDRINUSE while binding ``port`` into ``PortInUse`` naming ``option``."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(
            f"port {port} on {host} is already in use (another serverless-pypi serve?): "
            f"choose another with {option} PORT ({option} 0 picks a free one)"
        ) from exc


def make_api(settings: config.Settings) -> App:
    from serverless_pypi.api.app import ApiApp

    return ApiApp(settings)


def make_reindex(settings: config.Settings) -> ReindexApp:
    from serverless_pypi.reindex.app import ReindexApp as Reindex

    return Reindex(settings)


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


def settings_for(
    options: Options,
    bucket: str,
    endpoint: str | None,
    uploads: str,
    auth: str = "none",
    extra: dict[str, str] | None = None,
) -> config.Settings:
    """Settings through ``config.load`` (same validation as in Lambda), without touching
    ``os.environ``."""
    env = {
        config.BUCKET: bucket,
        config.UPLOADS: uploads,
        config.AUTH: auth,
        config.LOG_LEVEL: os.environ.get(config.LOG_LEVEL, ""),
        config.UPLOAD_TOKEN_TTL: os.environ.get(config.UPLOAD_TOKEN_TTL, ""),
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
    env.update(_upstream_env(options))
    env.update(extra or {})
    return config.load(env)


def _upstream_env(options: Options) -> dict[str, str]:
    """The upstream proxy's variables; no copy function: copies run in a thread here."""
    values = {
        config.UPSTREAM_INDEX_URL: options.upstream_index_url,
        config.UPSTREAM_BLOCK: ",".join(options.upstream_block),
        config.UPSTREAM_MIN_AGE: options.upstream_min_age,
        config.UPSTREAM_PAGE_TTL: options.upstream_page_ttl,
    }
    return {name: value for name, value in values.items() if value}


def start(
    options: Options,
    *,
    api_factory: AppFactory = make_api,
    reindex_factory: AppFactory = make_reindex,
    authorizer_factory: AuthorizerFactory = LocalAuthorizer,
) -> Running:
    """Start everything for ``options``; on error stop what had started and raise."""
    running = Running()
    try:
        if options.bucket:
            if options.auth:
                raise config.ConfigError("--auth needs the embedded bucket (no --bucket)")
            _start_external(options, running, api_factory, reindex_factory)
        else:
            _start_embedded(options, running, api_factory, reindex_factory, authorizer_factory)
    except BaseException:
        running.stop()
        raise
    return running


def _start_embedded(
    options: Options,
    running: Running,
    api_factory: AppFactory,
    reindex_factory: AppFactory,
    authorizer_factory: AuthorizerFactory,
) -> None:
    from serverless_pypi.local.emulator import Emulator
    from serverless_pypi.local.persistence import DataDir, Mirror, restore
    from serverless_pypi.local.server import LocalServer, listen
    from serverless_pypi.local.sqs import MAX_RECEIVES, QueuePoller

    stops = running._stops
    if options.ephemeral:
        temp_dir = Path(tempfile.mkdtemp(prefix="serverless-pypi-"))
        running.temp_dir = temp_dir
        stops.append(lambda: shutil.rmtree(temp_dir, ignore_errors=True))
        root = temp_dir
    else:
        root = (options.data_dir or Path(DEFAULT_DATA_DIR)).resolve()
    data = running.data = DataDir(root)
    stops.append(data.close)

    # The handlers' clients use the default credential chain; give them something to sign
    # with. Never overrides credentials the user set.
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy)

    region = settings_for(options, DEFAULT_BUCKET, None, "off").region
    publishers = tls = None
    if options.trusted_publishers is not None:
        publishers = read_publishers(options.trusted_publishers)
    if options.tls_cert is not None and options.tls_key is not None:
        tls = tls_context(options.tls_cert, options.tls_key)
    emulator = Emulator(DEFAULT_BUCKET, region, options.s3_port)
    stops.append(emulator.stop)
    with _port_of("--s3-port", "127.0.0.1", options.s3_port):
        endpoint = emulator.start()
    running.emulator = emulator
    extra = publishing_env(emulator, publishers) if publishers is not None else {}
    if options.upload_permissions is not None:
        extra.update(read_permissions(options.upload_permissions))
    authorizer = None
    if options.auth:
        settings = settings_for(options, DEFAULT_BUCKET, endpoint, "authenticated", "basic", extra)
        embedded = start_auth(emulator, root, stops, authorizer_factory)
        running.cognito, running.users = embedded.pool, embedded.users
        authorizer = embedded.authorizer.handle
    else:
        settings = settings_for(
            options, DEFAULT_BUCKET, endpoint, "unauthenticated-insecure", extra=extra
        )
    running.settings = settings
    api = api_factory(settings)
    reindex = reindex_factory(replace(settings, web_image_hosts=options.web_image_hosts))

    restored = restore(emulator.s3, DEFAULT_BUCKET, data)
    log.info(
        "restored objects from the data directory",
        extra={"objects": restored, "data_dir": str(root)},
    )

    with _port_of("--port", options.host, options.port):
        listener = listen(options.host, options.port)
    stops.append(listener.close)
    queue_url, queue_arn = emulator.subscribe_queue(MAX_RECEIVES)
    poller = QueuePoller(
        emulator.sqs,
        queue_url,
        queue_arn,
        reindex.handle,
        bucket=DEFAULT_BUCKET,
        mirror=Mirror(emulator.s3, DEFAULT_BUCKET, data),
        region=region,
    )
    server = LocalServer(listener, api.handle, region=region, authorizer=authorizer, tls=tls)
    _serve(running, server)
    poller.start()
    stops.append(poller.stop)  # first to stop: a batch in hand still needs the server and moto
    emulator.after_s3_events(poller.wait_briefly)
    emulator.notify()
    reindex.rebuild_all()
    running.s3_endpoint_url = endpoint
    running.bucket = DEFAULT_BUCKET
    if not options.auth and not is_loopback(options.host):
        log.warning(
            "listening beyond this machine with unauthenticated uploads",
            extra={"host": options.host},
        )


def _start_external(
    options: Options, running: Running, api_factory: AppFactory, reindex_factory: AppFactory
) -> None:
    from serverless_pypi.local.server import LocalServer, listen

    assert options.bucket
    settings = settings_for(options, options.bucket, options.endpoint_url, "off")
    running.settings = settings
    api = api_factory(settings)
    reindex = reindex_factory(replace(settings, web_image_hosts=options.web_image_hosts))
    # No events arrive from a bucket we did not wire up: build the derived index now.
    reindex.rebuild_all()
    with _port_of("--port", options.host, options.port):
        listener = listen(options.host, options.port)
    running._stops.append(listener.close)
    _serve(running, LocalServer(listener, api.handle, region=settings.region))
    running.s3_endpoint_url = (
        settings.s3_endpoint_url or f"https://s3.{settings.region}.amazonaws.com"
    )
    running.bucket = options.bucket


def _serve(running: Running, server: Any) -> None:
    running._stops.append(server.stop)
    server.start()
    running.server = server
    running.index_url = f"{server.loopback_url()}/simple/"


def is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
