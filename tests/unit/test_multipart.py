"""The upload form parser: what twine sends, every refusal, and the hostile bodies of issue 11.

Hostile bodies are refused (or parsed) by outcome; no timing is asserted.
"""

from __future__ import annotations

import base64

import pytest
from bench import hostile
from support.forms import multipart, upload_fields

from serverless_pypi.api import multipart as form
from serverless_pypi.api.multipart import parse_form
from serverless_pypi.errors import Refused

MALFORMED = "Malformed multipart body (truncated or invalid)."
NOT_FORM = "Expected a multipart/form-data upload."
#: Bytes that a naive parser would mistake: line ends, a near-delimiter, high bytes.
TRICKY = bytes(range(256)) * 8 + b"\r\n--not-the-boundary\r\n\n\r\n--"
B = hostile.BOUNDARY
TYPE = hostile.FORM_TYPE


def refused(content_type: str, body: bytes) -> str:
    with pytest.raises(Refused) as caught:
        parse_form(content_type, body)
    return caught.value.message


def twine_body(data: bytes = TRICKY) -> tuple[str, bytes, list[tuple[str, str]]]:
    fields = upload_fields("pkg", "1.0", "pkg-1.0.tar.gz", data)
    fields += [("description", "# Pkg\r\n\r\nCaf\u00e9 \u2603\n"), ("author", "")]
    content_type, body = multipart(fields, ("pkg-1.0.tar.gz", data))
    return content_type, body, fields


def test_twine_form() -> None:
    content_type, body, sent = twine_body()
    fields, content = parse_form(content_type, body)
    expected: dict[str, str] = {}
    for name, value in sent:
        expected.setdefault(name, value)  # the first value of a repeated name (classifiers)
    assert fields == expected
    assert content == ("pkg-1.0.tar.gz", TRICKY)


def test_lf_line_ends_preamble_epilogue_and_quoted_boundary() -> None:
    content_type, body, _ = twine_body()
    expected = parse_form(content_type, body)
    assert parse_form(content_type, b"preamble\r\n" + body + b"epilogue") == expected
    quoted = content_type.replace("boundary=", 'boundary="') + '"'
    assert parse_form(quoted, body) == expected
    fields, content = parse_form(content_type, body.replace(b"\r\n", b"\n"))
    assert fields[":action"] == "file_upload" and content is not None


def part(headers: str, value: bytes = b"v") -> bytes:
    return f"--{B}\r\n{headers}\r\n\r\n".encode() + value + b"\r\n"


END = f"--{B}--\r\n".encode()


def test_parts_without_a_name_are_skipped_and_empty_values_kept() -> None:
    body = part("Content-Type: text/plain") + part('Content-Disposition: form-data; name="x"', b"")
    assert parse_form(TYPE, body + END) == ({"x": ""}, None)


def test_transfer_encodings_and_rfc2231_filename() -> None:
    body = part(
        'Content-Disposition: form-data; name="x"\r\nContent-Transfer-Encoding: base64',
        base64.b64encode(b"hello"),
    ) + part(
        "Content-Disposition: form-data; name=content; filename*=utf-8''caf%C3%A9-1.0.tar.gz",
        b"data",
    )
    assert parse_form(TYPE, body + END) == ({"x": "hello"}, ("caf\u00e9-1.0.tar.gz", b"data"))


def test_headers_end_at_the_delimiter() -> None:
    body = f'--{B}\r\nContent-Disposition: form-data; name="x"\r\n'.encode() + END
    assert parse_form(TYPE, body) == ({"x": ""}, None)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data", "multipart/mixed; boundary=x", ""]
)
def test_not_a_form(content_type: str) -> None:
    assert refused(content_type, twine_body()[1]) == NOT_FORM


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        END,  # no part at all
        part('Content-Disposition: form-data; name="x"'),  # never closed
        part("Content Disposition: form-data"),  # not a header line
        part("no colon here") + END,
        f"--{B}x\r\n".encode() + END[:-2] + b"x",  # only lines that look like delimiters
    ],
)
def test_malformed(body: bytes) -> None:
    assert refused(TYPE, body) == MALFORMED


def test_every_truncation_is_refused() -> None:
    content_type, body, _ = twine_body(b"0123456789" * 20)
    for cut in range(len(body) - len("--\r\n")):
        assert refused(content_type, body[:cut]) == MALFORMED, cut
    assert parse_form(content_type, body[: len(body) - 2])[1] is not None  # "--b--" closes


def test_content_without_filename() -> None:
    body = part('Content-Disposition: form-data; name="content"') + END
    assert refused(TYPE, body) == "The content part has no filename."


# -- bounds: the hostile bodies --------------------------------------------------------


def test_long_content_disposition() -> None:
    message = refused(TYPE, hostile.form_long_disposition(500_000))
    assert message == f"A multipart header line is longer than {form.MAX_HEADER_LINE} bytes."


def test_seventy_thousand_tiny_fields() -> None:
    message = refused(TYPE, hostile.form_many_fields(70_000))
    assert message == f"The multipart body has more than {form.MAX_PARTS} parts."


def test_as_many_parts_as_the_bound() -> None:
    assert parse_form(TYPE, hostile.form_many_fields(form.MAX_PARTS)) == ({"f": "v"}, None)


def test_many_headers() -> None:
    message = refused(TYPE, hostile.form_many_headers(100_000))
    assert message == f"A multipart part has more than {form.MAX_HEADERS} header lines."


def test_large_field_is_refused_but_large_file_is_not() -> None:
    big = b"x" * (form.MAX_FIELD_BYTES + 1)
    body = part('Content-Disposition: form-data; name="description"', big) + END
    assert refused(TYPE, body) == "Form field 'description' is larger than 1 MiB."
    _, content = parse_form(*twine_body(big)[:2])
    assert content == ("pkg-1.0.tar.gz", big)


def test_lines_that_look_like_delimiters_are_data() -> None:
    _, content = parse_form(TYPE, hostile.form_false_delimiters(100_000))
    assert content is not None and content[1].count(f"--{B}x".encode()) > 1000
