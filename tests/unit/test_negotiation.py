import pytest

from serverless_pypi.api.negotiation import HTML_V1, JSON_V1, TEXT_HTML, Format, choose

PIP = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"
UV = f"{JSON_V1}, {HTML_V1};q=0.2, text/html;q=0.01"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, (Format.HTML, TEXT_HTML)),
        ("", (Format.HTML, TEXT_HTML)),
        ("*/*", (Format.HTML, TEXT_HTML)),
        ("text/html", (Format.HTML, TEXT_HTML)),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            (Format.HTML, TEXT_HTML),
        ),
        (PIP, (Format.JSON, JSON_V1)),
        (UV, (Format.JSON, JSON_V1)),
        (f"{JSON_V1};q=0.5, {HTML_V1}", (Format.HTML, HTML_V1)),
        ("application/vnd.pypi.simple.latest+json", (Format.JSON, JSON_V1)),
        ("application/vnd.pypi.simple.latest+html", (Format.HTML, HTML_V1)),
        (f"{JSON_V1};q=0, text/html", (Format.HTML, TEXT_HTML)),
        (f"{JSON_V1};q=bogus, text/html;q=0.1", (Format.HTML, TEXT_HTML)),
        (f"{JSON_V1}, */*", (Format.JSON, JSON_V1)),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", (Format.JSON, JSON_V1)),
        ("application/xml", None),
        (f"{JSON_V1};q=0", None),
        ("application/json", None),
        (",,,;;;", None),
    ],
)
def test_choose(accept: str | None, expected: tuple[Format, str] | None) -> None:
    assert choose(accept) == expected
