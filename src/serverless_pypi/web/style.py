"""The look shared by every human page: inline CSS (no external asset: a private index is
often cut off from the internet) and the page frame. Standard library only: the API renders
the welcome and not-found pages with it."""

from __future__ import annotations

from html import escape

CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#4b5563;--bg:#fff;--panel:#f3f4f6;
--line:#d1d5db;--link:#0b57d0;--warn:#8a3a00;--warnbg:#fff4e5}
@media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#a7adb7;--bg:#111418;
--panel:#1c2128;--line:#374151;--link:#8ab4f8;--warn:#ffb870;--warnbg:#2b1d0e}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem;border-bottom:1px solid var(--line)}
header a.home{font-weight:600;text-decoration:none;color:var(--fg)}
a{color:var(--link)}
h1{font-size:1.75rem;margin:1rem 0 .25rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line)}
.summary{color:var(--muted);margin:.25rem 0 1rem}
code,pre{font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--panel);padding:.75rem;overflow:auto;border-radius:6px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);
vertical-align:top}
td.num{text-align:right;white-space:nowrap}
.yanked{color:var(--warn);background:var(--warnbg);padding:0 .35rem;border-radius:4px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}
.facts dt{font-weight:600}.facts dd{margin:0}
form.search{display:flex;gap:.5rem;margin:1rem 0}
form.search input{flex:1;font:inherit;padding:.4rem .6rem;border:1px solid var(--muted);
border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.4rem .9rem;border-radius:6px;border:1px solid var(--muted);
background:var(--panel);color:var(--fg);cursor:pointer}
.description{margin-top:1rem;
overflow-wrap:anywhere}
.description img{max-width:100%}
details summary{cursor:pointer;color:var(--link)}
nav.pages{margin:1rem 0;display:flex;gap:1rem}
footer{color:var(--muted);font-size:.875rem;padding:2rem 1rem}
"""

#: Fills every ``data-index-rel`` element with the absolute URL it names relative to this page,
#: so copied configuration works under any host, stage or custom domain.
SCRIPT = (
    "document.querySelectorAll('[data-index-rel]').forEach(function(e){"
    "e.textContent=new URL(e.getAttribute('data-index-rel'),location.href).href;});"
)


def frame(title: str, body: str, *, home: str) -> str:
    """A whole page; ``body`` is HTML already escaped, ``home`` the relative link to ``/``."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><a class="home" href="{escape(home)}">Package index</a></header>\n'
        f"<main>\n{body}\n</main>\n"
        "<footer>Served by serverless-pypi. Installers read the "
        f'<a href="{escape(home)}simple/">simple index</a>.</footer>\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
