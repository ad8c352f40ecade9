"""The welcome page (``/`` for a browser), put together per request from the catalog shards.

Reading 16 small objects in parallel costs about one S3 round trip; the list is filtered by
``?q=`` (server-side search over names and summaries, so it works without JavaScript), sorted
newest release first and cut into pages of ``PAGE_SIZE``. Standard library only, imported by
the API when a browser asks for ``/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from html import escape
from urllib.parse import quote, urlencode

from serverless_pypi import layout
from serverless_pypi.storage import Bucket
from serverless_pypi.web import cards, style

PAGE_SIZE = 200
MAX_QUERY = 100


def load_cards(bucket: Bucket) -> list[cards.Card]:
    def shard(number: int) -> cards.Shard:
        stored = bucket.get(layout.catalog_key(number))
        return cards.load(stored[0]) if stored else {}

    with ThreadPoolExecutor(max_workers=layout.CATALOG_SHARDS) as pool:
        shards = list(pool.map(shard, range(layout.CATALOG_SHARDS)))
    return [card for s in shards for card in s.values()]


def search(found: Iterable[cards.Card], query: str) -> list[cards.Card]:
    """Cards whose name or summary contains ``query`` (names compared as canonical names),
    newest release first."""
    needle = query.strip().casefold()[:MAX_QUERY]
    canonical = "-".join(needle.replace("_", "-").replace(".", "-").split())
    chosen = [
        c for c in found if not needle or canonical in c.name or needle in c.summary.casefold()
    ]
    return sorted(chosen, key=lambda c: (c.released, c.name), reverse=True)


def _config(basic_auth: bool) -> str:
    url = '<span data-index-rel="simple/">simple/</span>'
    auth = (
        "<p>This index asks for a user name and password. Put them in the URL "
        "(<code>https://USER:PASSWORD@host/…</code>) or in your tool's credential store "
        "(keyring, <code>.netrc</code>, <code>UV_INDEX_PRIVATE_USERNAME</code> / "
        "<code>_PASSWORD</code>, <code>poetry config http-basic.private</code>).</p>\n"
        if basic_auth
        else ""
    )
    return (
        f"{auth}"
        '<h3 id="pip">pip</h3>\n'
        f"<pre><code>pip install --index-url {url} PROJECT</code></pre>\n"
        "<p>or in <code>pip.conf</code>:</p>\n"
        f"<pre><code>[global]\nindex-url = {url}</code></pre>\n"
        '<h3 id="uv">uv (<code>pyproject.toml</code>)</h3>\n'
        '<pre><code>[[tool.uv.index]]\nname = "private"\n'
        f'url = "{url}"\ndefault = true</code></pre>\n'
        '<h3 id="poetry">Poetry</h3>\n'
        f"<pre><code>poetry source add --priority=primary private {url}</code></pre>\n"
        '<h3 id="pdm">PDM (<code>pyproject.toml</code>)</h3>\n'
        '<pre><code>[[tool.pdm.source]]\nname = "private"\n'
        f'url = "{url}"</code></pre>\n'
    )


def _rows(shown: list[cards.Card]) -> str:
    rows = "".join(
        f'<tr><td><a href="project/{quote(c.name)}/">{escape(c.name)}</a></td>'
        f"<td>{escape(c.version)}</td><td>{escape(c.summary)}</td>"
        f'<td class="num"><time datetime="{escape(c.released)}">{escape(c.released[:10])}'
        "</time></td></tr>\n"
        for c in shown
    )
    return (
        '<table><thead><tr><th scope="col">Project</th><th scope="col">Latest version</th>'
        '<th scope="col">Summary</th><th scope="col">Released</th></tr></thead>\n'
        f"<tbody>\n{rows}</tbody></table>\n"
    )


def _pager(query: str, page: int, pages: int) -> str:
    def link(number: int, label: str, rel: str) -> str:
        params = {"q": query} if query else {}
        if number > 1:
            params["page"] = str(number)
        href = "./?" + urlencode(params) if params else "./"
        return f'<a rel="{rel}" href="{escape(href)}">{label}</a>'

    parts = []
    if page > 1:
        parts.append(link(page - 1, "← Newer", "prev"))
    parts.append(f"<span>Page {page} of {pages}</span>")
    if page < pages:
        parts.append(link(page + 1, "Older →", "next"))
    return f'<nav class="pages" aria-label="Pages">{"".join(parts)}</nav>\n'


def welcome(found: list[cards.Card], *, query: str, page: int, basic_auth: bool) -> bytes:
    matches = search(found, query)
    pages = max(1, -(-len(matches) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    q = escape(query[:MAX_QUERY])
    if matches:
        listing = _rows(shown) + (_pager(query, page, pages) if pages > 1 else "")
    elif query:
        listing = f"<p>No project matches “{q}”.</p>\n"
    else:
        listing = (
            "<p>No projects yet. Publish one with <code>twine upload</code> or "
            "<code>serverless-pypi upload</code>.</p>\n"
        )
    count = f"{len(matches)} project{'s' if len(matches) != 1 else ''}"
    body = (
        "<h1>Package index</h1>\n"
        '<p class="summary">A private Python package index. Installers use the '
        '<a href="simple/">simple index</a> at '
        '<code data-index-rel="simple/">simple/</code>; this page is for people.</p>\n'
        '<form class="search" role="search" method="get" action="./">\n'
        '<label for="q">Search projects</label>\n'
        f'<input id="q" name="q" type="search" value="{q}" maxlength="{MAX_QUERY}" '
        'placeholder="name or summary">\n<button type="submit">Search</button>\n</form>\n'
        '<h2 id="projects">Projects</h2>\n'
        f'<p aria-live="polite">{count}{f" matching “{q}”" if query else ""}, newest first.</p>\n'
        f"{listing}"
        '<h2 id="use">Use this index</h2>\n'
        f"{_config(basic_auth)}"
    )
    return style.frame("Package index", body, home="./").encode()


def not_found(message: str, *, home: str) -> bytes:
    """A 404 for browsers: what was looked for, and the way home."""
    body = (
        "<h1>Not found</h1>\n"
        f"<p>{escape(message)}</p>\n"
        f'<p><a href="{escape(home)}">Back to the package index</a> to search its projects.</p>\n'
    )
    return style.frame("Not found", body, home=home).encode()
