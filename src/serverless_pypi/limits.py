"""Lambda's response limit, which both functions must respect: the API when it answers, the
reindexer when it warns that a page it stores is growing towards what the API can send."""

from __future__ import annotations

#: Lambda refuses a synchronous response over 6 MiB (API Gateway then answers 502); this
#: leaves room for the headers and the JSON around the body.
MAX_RESPONSE_BODY = 6 * 1024 * 1024 - 64 * 1024
#: Bytes that a JSON string holds as they are; any other byte takes at most 6 (``\u00XX``).
_JSON_PLAIN = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')


def serialized_size(body: bytes, *, binary: bool) -> int:
    """An upper bound on the body's size inside the Lambda response: binary bodies go as
    base64, text as a JSON string whose quotes, backslashes and newlines are escaped (2 bytes)
    and whose other unusual bytes take at most 6."""
    if binary:
        return 4 * ((len(body) + 2) // 3)
    common = body.count(b'"') + body.count(b"\\") + body.count(b"\n")
    rare = len(body.translate(None, _JSON_PLAIN + b'"\\\n'))
    return len(body) + common + 5 * rare
