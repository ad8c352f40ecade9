"""``python -m moto.server``, except that S3's conditional writes are atomic, as they are in S3.

moto checks ``If-Match`` / ``If-None-Match`` and then stores the object, unlocked: two
concurrent writers can both pass the check and one update is lost without a 412. The queue
cases (``queue_cases.py``) run many writers of one object at once, so they would measure moto's
race instead of the index. Same arguments as ``moto.server``.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.s3.responses import S3Response
from moto.server import main

_lock = threading.Lock()
_put_object = S3Response.put_object


def _atomic_put_object(self: S3Response) -> Any:
    if self.headers.get("If-Match") or self.headers.get("If-None-Match"):
        with _lock:
            return _put_object(self)
    return _put_object(self)


S3Response.put_object = _atomic_put_object  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
