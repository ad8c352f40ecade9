"""``serverless-pypi serve``: run the local stack until Ctrl-C or SIGTERM.

stdout carries only the lines the README documents, printed once everything is ready so that a
script waiting for them can use the server at once: ``uploads:``, ``data:`` (embedded bucket),
``index:``, ``s3:`` and, with ``--auth``, ``cognito:``. Log lines (JSON) go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any, TextIO

from serverless_pypi import config, logs
from serverless_pypi.cli import failures
from serverless_pypi.errors import StoreUnavailable
from serverless_pypi.local import stack
from serverless_pypi.local.auth import AuthorizerFactory, LocalAuthorizer
from serverless_pypi.local.options import Options, add_arguments, from_arguments
from serverless_pypi.local.persistence import DataDirError
from serverless_pypi.local.stack import AppFactory, Running

__all__ = ["Options", "Running", "add_arguments", "main", "run", "start"]

log = logging.getLogger("serverless_pypi.local")

#: Loggers that would log request details (signatures, presigned URLs); kept to warnings.
QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "werkzeug")


def start(
    options: Options,
    *,
    api_factory: AppFactory = stack.make_api,
    reindex_factory: AppFactory = stack.make_reindex,
    authorizer_factory: AuthorizerFactory = LocalAuthorizer,
    out: TextIO | None = None,
) -> Running:
    """Start the stack, then print the documented lines; on error clean up and raise."""
    running = stack.start(
        options,
        api_factory=api_factory,
        reindex_factory=reindex_factory,
        authorizer_factory=authorizer_factory,
    )
    _print_ready(options, running, out if out is not None else sys.stdout)
    return running


def _print_ready(options: Options, running: Running, out: TextIO) -> None:
    lines = []
    if options.bucket:
        lines.append(
            "uploads: off (serving an existing bucket; the index is rebuilt only at start)"
        )
    elif options.auth:
        lines.append(
            "uploads: members of the uploaders group only; every request needs a user "
            "(add them with: serverless-pypi users add NAME --user-pool-id ID --endpoint-url URL)"
        )
    else:
        lines.append(
            "uploads: enabled without authentication (local use only: anyone who can reach "
            f"{options.host}:{running.server.port} can upload)"
        )
    if running.data is not None:
        lines.append(f"data: {'(ephemeral) ' if options.ephemeral else ''}{running.data.root}")
    lines.append(f"index: {running.index_url}")
    lines.append(f"s3: {running.s3_endpoint_url} bucket={running.bucket}")
    if running.settings is not None and running.settings.trusted_publishers:
        lines.append(
            f"trusted publishing: audience={running.settings.oidc_audience} "
            f"publishers={len(running.settings.trusted_publishers)}"
        )
    if running.cognito is not None:
        pool = running.cognito
        lines.append(f"cognito: {pool.endpoint_url} user_pool_id={pool.user_pool_id}")
    for line in lines:
        print(line, file=out, flush=True)


def _setup_logging(args: argparse.Namespace) -> None:
    """The package's JSON log lines, on stderr: stdout is for the documented lines.

    The level is the CLI's ``--log-level`` when the CLI runs us, else ``LOG_LEVEL`` or INFO.
    """
    level = getattr(args, "log_level", None) or (os.environ.get(config.LOG_LEVEL) or "INFO")
    level = level.upper()
    logs.setup(level if level in config.LOG_LEVELS else "INFO", stream=sys.stderr)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class _Stop(Exception):
    """Raised in the main thread by SIGTERM, handled like Ctrl-C."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C or SIGTERM; 0 on a clean stop, 2 for bad options, 1 if start fails."""
    try:
        options = from_arguments(args)
    except config.ConfigError as exc:
        print(f"serverless-pypi serve: error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(args)
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
    except (OSError, DataDirError, stack.PortInUse) as exc:  # data directory busy, port taken
        print(f"serverless-pypi serve: error: {exc}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:  # --bucket: missing, unreachable, not ours to read
        target = failures.Target(options.bucket, options.endpoint_url, may_be_serve=False)
        message = failures.explain(exc, target).message
        print(f"serverless-pypi serve: error: {message}", file=sys.stderr)
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
