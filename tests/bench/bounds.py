"""The cost of the upload checks on hostile input: ``archive.inspect`` and the multipart
parser on the worst inputs we know (issue 11), and on real-sized packages that must pass.

Each call is timed alone in this process (CPU by ``time.thread_time``; the median of a few
runs after one warm-up); no moto, no S3.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable
from typing import Any

import hostile
from timing import timed

from serverless_pypi import archive
from serverless_pypi.api.multipart import parse_form
from serverless_pypi.errors import Refused

SDIST, WHEEL = "pkg-1.0.tar.gz", "pkg-1.0-py3-none-any.whl"
GIB = 1024 * 1024 * 1024

#: (id, what, filename, builder, hostile): ``filename`` None means a multipart body.
INPUTS: tuple[tuple[str, str, str | None, Callable[[], bytes], bool], ...] = (
    ("sdist_700k_members", "sdist of 700,000 empty members", SDIST, hostile.tar_many_members, True),
    (
        "sdist_4gib_member",
        "sdist with a 4 GiB member before PKG-INFO",
        SDIST,
        hostile.tar_bomb,
        True,
    ),
    (
        "wheel_huge_directory",
        f"wheel of {archive.MAX_WHEEL_ENTRIES + 1:,} entries (end record says 65,535)",
        WHEEL,
        lambda: hostile.zip_many_entries(archive.MAX_WHEEL_ENTRIES + 1),
        True,
    ),
    (
        "wheel_at_entry_bound",
        f"wheel of {archive.MAX_WHEEL_ENTRIES:,} empty entries (accepted)",
        WHEEL,
        lambda: hostile.zip_many_entries(archive.MAX_WHEEL_ENTRIES),
        True,
    ),
    (
        "wheel_metadata_bomb",
        "wheel whose METADATA inflates to 4 GiB",
        WHEEL,
        hostile.zip_metadata_bomb,
        True,
    ),
    (
        "form_long_header",
        "form with a 500 KB Content-Disposition",
        None,
        hostile.form_long_disposition,
        True,
    ),
    ("form_70k_fields", "form of 70,000 tiny fields", None, hostile.form_many_fields, True),
    (
        "form_many_headers",
        "form part with 100,000 header lines",
        None,
        hostile.form_many_headers,
        True,
    ),
    (
        "form_false_delimiters",
        "4 MB file part of lines that look like delimiters",
        None,
        hostile.form_false_delimiters,
        True,
    ),
    ("sdist_real_5000", "sdist of 5,000 files, PKG-INFO last", SDIST, hostile.real_sdist, False),
    ("wheel_real_20000", "wheel of 20,000 entries", WHEEL, hostile.real_wheel, False),
)


def _outcome(filename: str | None, data: bytes) -> Callable[[], str]:
    if filename is not None:
        return lambda: archive.inspect(io.BytesIO(data), filename).problem or "accepted"

    def parse() -> str:
        try:
            parse_form(hostile.FORM_TYPE, data)
        except Refused as refused:
            return refused.message
        return "accepted"

    return parse


def hostile_inputs(runs: int) -> list[dict[str, Any]]:
    results = []
    for case_id, what, filename, build, is_hostile in INPUTS:
        data = build()
        call = _outcome(filename, data)
        timed(call)  # warm-up
        samples = [timed(call) for _ in range(runs)]
        result = {
            "id": f"bounds_{case_id}",
            "kind": "hostile_input",
            "what": what,
            "hostile": is_hostile,
            "checked": "archive.inspect" if filename else "multipart.parse_form",
            "input_bytes": len(data),
            "call_cpu_ms": round(statistics.median(s[0] for s in samples), 2),
            "call_wall_ms": round(statistics.median(s[1] for s in samples), 2),
            "runs": runs,
            "outcome": samples[-1][2],
        }
        results.append(result)
        print(
            f"  {result['id']}: {result['call_cpu_ms']:.1f} ms CPU, {result['outcome']}",
            flush=True,
        )
    return results


def evaluate(by_id: dict[str, dict[str, Any]]) -> list[tuple[str, Any, str, bool | None]]:
    """(target, measured, limit, ok) rows for ``report.evaluate``."""
    cases = [c for c in by_id.values() if c["kind"] == "hostile_input"]
    worst = max((c for c in cases if c["hostile"]), key=lambda c: c["call_cpu_ms"], default=None)
    real = [c for c in cases if not c["hostile"]]
    return [
        (
            "worst hostile input ≤ 50 ms CPU",
            f"{worst['call_cpu_ms']:.1f} ms ({worst['what']})" if worst else None,
            "≤ 50 ms",
            worst["call_cpu_ms"] <= 50 if worst else None,
        ),
        (
            "real-sized packages still accepted",
            ", ".join(f"{c['what']}: {c['outcome']}" for c in real) or None,
            "accepted",
            all(c["outcome"] == "accepted" for c in real) if real else None,
        ),
    ]


def markdown(cases: list[dict[str, Any]]) -> list[str]:
    rows = [c for c in cases if c["kind"] == "hostile_input"]
    if not rows:
        return []
    out = [
        "",
        "## Upload checks on hostile input (one call, median CPU)",
        "",
        "| input | checked by | bytes | CPU ms | wall ms | outcome |",
        "|---|---|--:|--:|--:|---|",
    ]
    for c in rows:
        out.append(
            f"| {c['what']} | `{c['checked']}` | {c['input_bytes']:,} | {c['call_cpu_ms']:.2f} "
            f"| {c['call_wall_ms']:.2f} | {c['outcome']} |"
        )
    return out
