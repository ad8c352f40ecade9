"""Indexing one big wheel (issue 15): the reindex handler's peak memory and ``/tmp`` use, its S3
requests and the bytes it reads of the file, before (the baseline commit) and after.

The wheel is generated on read (tests/support/bigwheel.py: a zip64 wheel whose bulk is one
stored member of zeros) and served by a proxy in front of moto server that is moto for every
other request (tests/support/bigobject.py), so nothing holds or writes a gigabyte but the code
measured. Each variant is one event handled in a fresh process (bigfile_child.py) with
``TMPDIR`` a directory of its own; the baseline's code is ``git archive BASELINE src``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from moto_proc import FAKE_AWS_ENV, MotoServer  # noqa: E402
from support.bigobject import BigObjectProxy  # noqa: E402
from support.bigwheel import BigWheel  # noqa: E402

BASELINE = "7be780b"
GIB = 1024**3
RESULT_PREFIX = "BENCH-RESULT "
#: The reindex function's defaults (variables.tf: reindex_memory_size; Lambda's /tmp).
REINDEX_MEMORY_MIB = 512
LAMBDA_TMP_MIB = 512
#: (variant, code, trust S3's SHA-256)
VARIANTS = (
    ("before", "baseline", False),
    ("after", "branch", False),
    ("after, S3 SHA-256", "branch", True),
)


def _baseline_src(into: Path) -> Path | None:
    """The baseline's ``src`` unpacked under ``into``; None when git cannot give it."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BASELINE, "src"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def _run_child(env: dict[str, str], key: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(HERE / "bigfile_child.py"), key],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    output = completed.stdout[-2000:] + completed.stderr[-3000:]
    raise RuntimeError(f"bigfile_child failed: {output}")


def _variant_id(variant: str, size_mib: float) -> str:
    slug = variant.replace(", ", "_").replace(" ", "_").replace("-", "").lower()
    return f"big_file_{slug}_{size_mib:.0f}mib"


def big_files(moto: MotoServer, *, quick: bool) -> list[dict[str, Any]]:
    """Each variant for wheels of 64 MiB and 1 GiB (16 and 64 MiB with ``quick``): the same
    numbers at both sizes are what "memory does not grow with the file" means."""
    bulks = (16 * 2**20, 64 * 2**20) if quick else (64 * 2**20, GIB)
    results: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="bench-bigfile-"))
    try:
        baseline = _baseline_src(work)
        for bulk in bulks:
            wheel = BigWheel("bigpkg", "1.0", bulk=bulk)
            print(f"big file: hashing a generated {wheel.size / 2**20:,.0f} MiB wheel", flush=True)
            sha256 = wheel.sha256()
            for variant, code, trust in VARIANTS:
                src = baseline if code == "baseline" else ROOT / "src"
                if src is not None:
                    results.append(_case(moto, work, wheel, sha256, variant, src, trust))
                    results[-1]["commit"] = BASELINE if code == "baseline" else "branch"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _case(
    moto: MotoServer,
    work: Path,
    wheel: BigWheel,
    sha256: str,
    variant: str,
    src: Path,
    trust: bool,
) -> dict[str, Any]:
    from serverless_pypi import config
    from serverless_pypi.storage import make_client

    case_id = _variant_id(variant, wheel.size / 2**20)
    name = case_id.replace("_", "-")[:63]
    make_client(config.Settings(bucket=name, s3_endpoint_url=moto.url)).create_bucket(Bucket=name)
    tmpdir = work / case_id
    tmpdir.mkdir()
    key = f"bigpkg/{wheel.filename}"
    with BigObjectProxy(moto.url, name, key, wheel, sha256=sha256) as proxy:
        env = {
            **os.environ,
            **FAKE_AWS_ENV,
            "PYTHONPATH": str(src),
            "TMPDIR": str(tmpdir),
            "SERVERLESS_PYPI_BUCKET": name,
            "SERVERLESS_PYPI_S3_ENDPOINT_URL": proxy.url,
            "BENCH_TRUST_CHECKSUMS": "1" if trust else "0",
        }
        print(f"big file: indexing it, {variant} ...", flush=True)
        measured = _run_child(env, key)
        reads = [r for r in proxy.log if r.method == "GET"]
    if not measured["code"].startswith(str(src)):
        raise RuntimeError(f"{variant} ran the code in {measured['code']}, not {src}")
    return {
        "id": case_id,
        "kind": "big_file",
        "variant": variant,
        "file_mib": wheel.size / 2**20,
        "correct": measured["recorded_sha256"] == sha256
        and measured["recorded_size"] == wheel.size,
        "file_gets": len(reads),
        "file_ranged_gets": sum(1 for r in reads if r.range is not None),
        "file_bytes_read": sum(r.sent for r in reads),
        "file_ranged_bytes": sum(r.sent for r in reads if r.range is not None),
        **{k: v for k, v in measured.items() if k not in ("handled", "code")},
    }


def evaluate(by_id: dict[str, dict[str, Any]]) -> list[tuple[str, Any, str, bool | None]]:
    """Target rows for ``report.evaluate``: the branch indexes within the defaults, at a
    peak that does not grow with the file."""
    after = sorted(
        (c for c in by_id.values() if c.get("kind") == "big_file" and c["variant"] == "after"),
        key=lambda c: c["file_mib"],
    )
    if not after:
        return []
    small, large = after[0], after[-1]
    within = (
        large["peak_rss_mib"] <= REINDEX_MEMORY_MIB
        and large["tmp_peak_mib"] <= LAMBDA_TMP_MIB
        and large["peak_rss_growth_mib"] <= small["peak_rss_growth_mib"] + 16
        and all(c["correct"] for c in after)
    )
    return [
        (
            f"index a {large['file_mib']:,.0f} MiB wheel within the reindex defaults",
            f"peak RSS {large['peak_rss_mib']:.0f} MiB (growth {large['peak_rss_growth_mib']:.0f}, "
            f"{small['peak_rss_growth_mib']:.0f} at {small['file_mib']:,.0f} MiB), "
            f"/tmp {large['tmp_peak_mib']:.0f} MiB",
            f"≤ {REINDEX_MEMORY_MIB} MiB memory, ≤ {LAMBDA_TMP_MIB} MiB /tmp, not growing",
            within,
        )
    ]


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def markdown(cases: list[dict[str, Any]]) -> list[str]:
    rows = [c for c in cases if c["kind"] == "big_file"]
    if not rows:
        return []
    out = [
        "",
        "## Indexing one big wheel (one event, fresh process each)",
        "",
        f"Before: {BASELINE}. Ratios are against it, in the same run. File MiB sent: body bytes "
        "the endpoint sent for the wheel; with S3's SHA-256 the first GET's body is closed "
        "unread after its headers, and what counts for it is what went into the socket before "
        "the close (on loopback a few MiB; the handler reads none of it). Ranged: what the "
        "handler asked for by ranged GETs.",
        "",
        "| wheel MiB | variant | peak RSS MiB | RSS growth MiB | tracemalloc peak MiB "
        "| /tmp peak MiB | S3 requests | GETs of the file (ranged) | file MiB sent | x before "
        "| ranged KiB | CPU s | wall s | correct |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for c in rows:
        before = next(
            (b for b in rows if b["commit"] == BASELINE and b["file_mib"] == c["file_mib"]), c
        )
        correct = "yes" if c["correct"] else "**no**"
        out.append(
            f"| {c['file_mib']:,.0f} | {c['variant']} | {c['peak_rss_mib']:.0f} "
            f"| {c['peak_rss_growth_mib']:.0f} "
            f"| {c['tracemalloc_peak_mib']:.1f} | {c['tmp_peak_mib']:.0f} | {c['s3_requests']} "
            f"| {c['file_gets']} ({c['file_ranged_gets']}) | {c['file_bytes_read'] / 2**20:,.2f} "
            f"| {_ratio(c['file_bytes_read'], before['file_bytes_read'])} "
            f"| {c['file_ranged_bytes'] / 1024:,.0f} | {c['cpu_s']:.2f} | {c['wall_s']:.2f} "
            f"| {correct} |"
        )
    return out
