"""What a release page and the PyPI JSON API show from core metadata (METADATA / PKG-INFO)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from email.parser import Parser
from typing import Any

#: Text kept per field: summaries are one line, the rest is shown, not interpreted.
MAX_FIELD = 2000
MAX_LIST = 500


def _one_line(value: object) -> str | None:
    text = " ".join(str(value).split())[:MAX_FIELD] if value is not None else ""
    return text or None


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """One version's core metadata, as small as the pages need (no description)."""

    #: The display name (``Name``), as its author spelled it.
    name: str | None = None
    summary: str | None = None
    requires_python: str | None = None
    requires_dist: list[str] = field(default_factory=list)
    project_urls: dict[str, str] = field(default_factory=dict)
    home_page: str | None = None
    author: str | None = None
    author_email: str | None = None
    license: str | None = None
    keywords: str | None = None
    classifiers: list[str] = field(default_factory=list)
    description_content_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> ReleaseInfo:
        """Read back defensively: a malformed field is left out, never trusted."""
        if not isinstance(raw, dict):
            return cls()

        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) else None

        def strings(key: str) -> list[str]:
            value = raw.get(key)
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        urls = raw.get("project_urls")
        project_urls = (
            {k: v for k, v in urls.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(urls, dict)
            else {}
        )
        return cls(
            name=text("name"),
            summary=text("summary"),
            requires_python=text("requires_python"),
            requires_dist=strings("requires_dist"),
            project_urls=project_urls,
            home_page=text("home_page"),
            author=text("author"),
            author_email=text("author_email"),
            license=text("license"),
            keywords=text("keywords"),
            classifiers=strings("classifiers"),
            description_content_type=text("description_content_type"),
        )


@dataclass(frozen=True, slots=True)
class Parsed:
    info: ReleaseInfo
    description: str


def parse(metadata: bytes) -> Parsed:
    """Headers and the description: the body (metadata 2.1+) or the ``Description`` header
    (older files, continuation lines indented)."""
    message = Parser().parsestr(metadata.decode("utf-8", "replace"))
    urls: dict[str, str] = {}
    for entry in (message.get_all("Project-URL") or [])[:MAX_LIST]:
        label, _, url = str(entry).partition(",")
        if url.strip():
            urls[" ".join(label.split())[:200]] = url.strip()[:MAX_FIELD]
    body = message.get_payload()
    description = body if isinstance(body, str) and body.strip() else ""
    if not description and message.get("Description"):
        lines = str(message.get("Description")).splitlines()
        description = "\n".join(
            [
                lines[0],
                *(line.removeprefix("        ").removeprefix("       |") for line in lines[1:]),
            ]
        )
    info = ReleaseInfo(
        name=_one_line(message.get("Name")),
        summary=_one_line(message.get("Summary")),
        requires_python=_one_line(message.get("Requires-Python")),
        requires_dist=[
            text
            for v in (message.get_all("Requires-Dist") or [])[:MAX_LIST]
            if (text := _one_line(v))
        ],
        project_urls=urls,
        home_page=_one_line(message.get("Home-page")),
        author=_one_line(message.get("Author")),
        author_email=_one_line(message.get("Author-email")),
        license=_one_line(message.get("License-Expression") or message.get("License")),
        keywords=_one_line(message.get("Keywords")),
        classifiers=[
            text for v in (message.get_all("Classifier") or [])[:MAX_LIST] if (text := _one_line(v))
        ],
        description_content_type=_one_line(message.get("Description-Content-Type")),
    )
    return Parsed(info, description)
