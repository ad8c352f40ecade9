"""SNS deliveries that never hold up the S3 request that caused them for long.

moto sends an S3 event's SNS notification inside the PutObject (or DeleteObject) that caused
it, so while our endpoint reindexes, the S3 client waits for its response. If that outlasted
the client's read timeout, botocore retried the request; for the API's conditional upload the
retry found the object just stored and answered "Identical file already present". In AWS the
delivery is asynchronous and never delays the S3 response.

Each delivery therefore runs on its own thread, and the endpoint answers as soon as it is done
or after ``ANSWER_WITHIN`` seconds, whichever comes first. The usual delivery takes milliseconds,
so a file is still indexed by the time its upload returns; a slow one goes on in the background,
well inside every S3 client's read timeout (botocore's default 60 s, the handlers' 20 s).
Deliveries may then overlap, as concurrent uploads' already do and as SNS's may in AWS: the
reindex handler and the mirror are built for duplicated, reordered and concurrent events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("serverless_pypi.local")

#: Seconds a delivery may hold up its S3 request before the endpoint answers anyway.
ANSWER_WITHIN = 3.0
#: Seconds ``close`` waits for deliveries still running.
CLOSE_TIMEOUT = 60.0

Deliver = Callable[[bytes], tuple[int, str]]


class Deliveries:
    """Runs ``deliver`` for each SNS POST body; answers within ``answer_within`` seconds."""

    def __init__(self, deliver: Deliver, *, answer_within: float = ANSWER_WITHIN) -> None:
        self._deliver = deliver
        self._answer_within = answer_within
        self._running: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def handle(self, body: bytes) -> tuple[int, str]:
        """The delivery's own answer if it finished in time, else 200 (it goes on)."""
        answers: list[tuple[int, str]] = []

        def run() -> None:
            try:
                answers.append(self._deliver(body))
            except Exception:  # deliver should not raise; never lose the thread's error
                log.exception("sns delivery failed")
                answers.append((500, "delivery failed"))
            finally:
                with self._lock:
                    self._running.discard(thread)

        thread = threading.Thread(target=run, name="local-sns-delivery", daemon=True)
        with self._lock:
            self._running.add(thread)
        thread.start()
        thread.join(self._answer_within)
        if answers:
            return answers[0]
        log.info(
            "sns delivery still running, answered early", extra={"after_s": self._answer_within}
        )
        return 200, "accepted"

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Wait for the deliveries still running (and those they cause), up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = list(self._running)
            if not running:
                return
            for thread in running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning(
                        "sns deliveries still running at stop", extra={"count": len(running)}
                    )
                    return
                thread.join(remaining)
