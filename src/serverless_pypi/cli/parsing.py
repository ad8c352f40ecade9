"""What every subcommand's parser has: a description, examples, ``--log-level`` after the
subcommand as well as before it, and checked ``--bucket``/``--endpoint-url`` options.

``finish`` runs over the whole parser tree once every command is registered, so a command
added later gets the common parts without doing anything.
"""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Iterator

from serverless_pypi import config

#: The epilog of every subcommand starts with this (``examples``).
EXAMPLES = "examples:"


def examples(*lines: str) -> str:
    """An epilog listing example command lines, kept as written in ``--help``."""
    return "\n".join([EXAMPLES, *(f"  {line}" for line in lines)])


class Formatter(argparse.HelpFormatter):
    """Wraps descriptions as usual; keeps the examples epilog line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(EXAMPLES):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def http_url(raw: str) -> str:
    """An ``--endpoint-url``: botocore takes anything and fails later, with a worse message."""
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an http:// or https:// URL")
    return raw.rstrip("/")


def bucket_options(parser: argparse.ArgumentParser) -> None:
    """``--bucket`` and ``--endpoint-url``, as every bucket command takes them."""
    parser.add_argument("--bucket", required=True, help="bucket name")
    parser.add_argument(
        "--endpoint-url",
        type=http_url,
        help="S3 endpoint: an S3-compatible store, or the `s3:` URL `serverless-pypi serve` "
        "prints; default AWS",
    )


def quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bars (shown only on a terminal)"
    )


def subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below ``parser``, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield sub
                yield from subparsers(sub)


def finish(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand the help formatter and ``--log-level`` (the top-level value
    stays unless the option is given after the subcommand)."""
    for sub in subparsers(parser):
        sub.formatter_class = Formatter
        sub.add_argument(
            "--log-level",
            default=argparse.SUPPRESS,
            choices=config.LOG_LEVELS,
            help="log level of the JSON log lines on stderr (default: WARNING)",
        )
