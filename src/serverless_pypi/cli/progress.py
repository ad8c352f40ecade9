"""Progress bars for long commands, on stderr and only when a person is watching it.

tqdm draws them (bytes with rate and ETA, counts with ETA); it is imported only here, and only
when a bar is shown, so neither the Lambda functions nor a non-interactive run load it. Result
lines go to stdout through ``Progress.line``, which clears the bars first so they never tear.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class Bar:
    """One bar; a bar that is not shown ignores every call."""

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    def to(self, done: int) -> None:
        """Move to ``done`` (cumulative: bytes sent, projects applied)."""
        if self._bar is not None and done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def note(self, **fields: object) -> None:
        """Shown after the counts, e.g. ``objects=1200``."""
        if self._bar is not None:
            self._bar.set_postfix(fields, refresh=False)

    def finish(self) -> None:
        if self._bar is not None:
            self.to(self._bar.total or self._bar.n)


class Progress:
    """Whether bars are shown (a terminal on stderr, no ``--quiet``), and the bars."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self._open = 0

    @contextmanager
    def bar(
        self, description: str, total: int, *, unit: str, in_bytes: bool = False, show: bool = True
    ) -> Iterator[Bar]:
        """A bar counting ``unit`` up to ``total``; in bytes (KiB, MiB...) when ``in_bytes``;
        each with its rate and ETA. It is removed when done unless it is the outermost one."""
        if not (self.enabled and show):
            yield Bar()
            return
        from tqdm import tqdm

        shown = tqdm(
            total=total,
            desc=description,
            unit="B" if in_bytes else f" {unit}",
            unit_scale=in_bytes,
            unit_divisor=1024,
            file=self.stream,
            leave=self._open == 0,
            dynamic_ncols=True,
            mininterval=0.2,
        )
        self._open += 1
        try:
            yield Bar(shown)
        finally:
            self._open -= 1
            shown.close()

    def line(self, text: str, *, error: bool = False) -> None:
        """A result line on stdout (an error on stderr), printed above the bars."""
        stream = sys.stderr if error else sys.stdout
        if self.enabled and self._open:
            from tqdm import tqdm

            tqdm.write(text, file=stream)
            stream.flush()
        else:
            print(text, file=stream, flush=True)
