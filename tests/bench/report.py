"""Targets, the JSON result and the markdown table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import bigfile
import bounds
import queue_cases
import upstream
from cases import LAMBDA_RESPONSE_LIMIT, Plan

#: "Well under" the 6 MiB response limit: at most half of it, so a project can double.
RESPONSE_SHARE_TARGET = 0.5

METHOD = """\
- moto server (`python -m moto.server -H 127.0.0.1`) runs in its own process, so its CPU is
  not counted; client and server share this machine's cores over loopback.
- Handler CPU is `time.thread_time()` around `ApiApp.handle(event)` / `ReindexApp.handle(event)`
  on a warm app (one app per bucket, reused across runs like a warm Lambda container); logs are
  formatted as in Lambda (JSON lines at INFO) and written to /dev/null. Wall time includes
  waiting on moto. S3 requests are counted with a botocore `before-call.s3` hook on the app's
  client. Each number is the median of {runs} runs after {warmup} warm-up runs; p25-p75 in the
  JSON.
- Each run is paired with one GetObject of a {base}-byte object on the same client, measured
  right before it: the "x GetObject" columns divide by the median of those pairs.
- Project pages: project documents are synthetic (`seed.synthetic_files`: per version one sdist
  and nine platform wheels with real-length names, sha256, size, upload time,
  requires-python and metadata hash), written and published with `ProjectIndex.state.update`
  — the same conditional write, rendering and page writes the reindex Lambda does.
  The page bytes are therefore exactly what the reindex Lambda would store for those files.
- Buckets for the reindex cases hold real files (per project an sdist and two wheels, made
  in memory) put through moto; their derived data comes from `ReindexApp.rebuild_all()`, which
  is also the measured full reindex (run once, in a fresh process; peak memory is that
  process's VmHWM, "growth" the part above what it held after imports). Its wall time is
  mostly moto's (see its CPU column); the request count is the number that carries over to S3.
- A reindex event is an SNS-wrapped S3 `ObjectCreated:Put` for one new wheel, uploaded before
  the timed call: into a different 3-file project each run, or creating a new project.
- moto's server closes the connection after each response, so every request here includes a
  loopback TCP connect; against S3, botocore reuses TLS connections instead.
- Cold start: fresh `python` processes, alternating; the clock starts inside the process, so
  interpreter start-up is excluded on both sides. API: `import serverless_pypi.api` plus the
  first `handler(event, None)` (a project page: one GetObject from moto, reading config,
  creating the client). Baseline: `import boto3; boto3.client("s3")`.
- Requests carry `Accept-Encoding: gzip, deflate` as pip's and uv's do, unless marked "client
  without gzip".
- "Response" is the handler's result serialized with `json.dumps`, which is what Lambda limits
  (6 MiB = {limit:,} bytes); "well under" is taken as at most {share:.0%} of it.
- Pages are stored gzipped and pip, uv, poetry, pdm and browsers all ask for gzip, so the
  response-size target applies to gzip clients. The rows for a client without gzip (curl
  without `--compressed`, urllib) are reported with "no target": such a client gets the page
  decompressed while it fits in a Lambda response and a 406 asking for gzip beyond that
  (`gateway.page`), never a 502. At 10,000 files it still fits, but not "well under".
"""


def evaluate(results: list[dict[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    by_id = {r["id"]: r for r in results}
    targets: list[dict[str, Any]] = []

    def add(name: str, measured: Any, limit: str, ok: bool | str | None) -> None:
        result = (
            ok if isinstance(ok, str) else "not run" if ok is None else ("PASS" if ok else "MISS")
        )
        targets.append({"target": name, "measured": measured, "limit": limit, "result": result})

    for files, cpu_limit in ((1_000, 20.0), (10_000, 150.0)):
        for suffix, client in (("", "gzip client"), ("_identity", "no gzip")):
            for fmt in ("html", "json"):
                case = by_id.get(f"project_page_{fmt}_{files}{suffix}")
                label = f"{files:,}-file page ({fmt.upper()}, {client})"
                if case is None:
                    if not suffix:
                        add(f"{label}: handler CPU", None, f"≤ {cpu_limit:g} ms", None)
                    continue
                add(
                    f"{label}: handler CPU",
                    f"{case['cpu_ms']:.2f} ms",
                    f"≤ {cpu_limit:g} ms",
                    case["cpu_ms"] <= cpu_limit,
                )
                one = case["s3_requests_min"] == case["s3_requests_max"] == 1
                add(f"{label}: S3 requests", case["s3_requests_max"], "exactly 1", one)
                share = case["response_limit_share"]
                measured = f"{case['response_bytes']:,} B ({share:.0%} of 6 MiB)"
                if suffix:  # see NO_GZIP in the method: served while it fits, then a 406
                    add(f"{label}: response size", measured, "— (406 past 6 MiB)", "no target")
                    continue
                add(
                    f"{label}: response size",
                    measured,
                    f"≤ {RESPONSE_SHARE_TARGET:.0%} of 6 MiB",
                    share <= RESPONSE_SHARE_TARGET,
                )

    small, large = plan.small_projects, plan.large_projects
    for prefix, what in (
        ("reindex_event", "new file"),
        ("reindex_event_new_project", "new project"),
    ):
        event = by_id.get(f"{prefix}_{large}")
        add(
            f"reindex event ({what}), bucket of {large:,} projects: CPU",
            f"{event['cpu_ms']:.2f} ms" if event else None,
            "≤ 60 ms",
            event["cpu_ms"] <= 60 if event else None,
        )
    for prefix, what in (
        ("reindex_event", "new file"),
        ("reindex_event_new_project", "new project"),
    ):
        a, b = by_id.get(f"{prefix}_{small}"), by_id.get(f"{prefix}_{large}")
        same = None
        measured = None
        if a and b:
            measured = (
                f"{a['s3_requests']:g} ({small:,} projects) vs {b['s3_requests']:g} ({large:,})"
            )
            same = (a["s3_requests_min"], a["s3_requests_max"]) == (
                b["s3_requests_min"],
                b["s3_requests_max"],
            )
        add(
            f"reindex event ({what}): S3 requests independent of bucket size",
            measured,
            "equal",
            same,
        )
    cold = by_id.get("cold_start")
    add(
        "cold start vs `import boto3; boto3.client('s3')`",
        f"{cold['ratio']}x ({cold['api_total_ms']:.0f} vs {cold['boto3_total_ms']:.0f} ms)"
        if cold
        else None,
        "≤ 1.3x",
        cold["ratio"] <= 1.3 if cold else None,
    )
    for row in bounds.evaluate(by_id):
        add(*row)
    for row in bigfile.evaluate(by_id):
        add(*row)
    for row in upstream.evaluate(by_id, plan.page_sizes):
        add(*row)
    return targets


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in ("boto3", "botocore", "moto", "jinja2", "packaging", "serverless-pypi"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            models = [ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    memory = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
    }


def code_identity() -> dict[str, Any]:
    """Which serverless_pypi is measured: call at start (the tree may change meanwhile)."""
    import serverless_pypi

    package = Path(serverless_pypi.__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", "-C", str(package), *args], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    dirty = git("status", "--porcelain", "--", ".")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "package_modified": bool(dirty) if dirty is not None else None,
        "package_path": str(package),
    }


def document(
    results: list[dict[str, Any]], plan: Plan, elapsed_s: float, code: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema": 1,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": plan.quick,
        "elapsed_s": round(elapsed_s, 1),
        "code": code,
        "machine": _machine(),
        "versions": _versions(),
        "plan": {
            "runs": plan.runs,
            "warmup": plan.warmup,
            "cold_runs": plan.cold_runs,
            "page_sizes": list(plan.page_sizes),
            "small_projects": plan.small_projects,
            "large_projects": plan.large_projects,
        },
        "lambda_response_limit_bytes": LAMBDA_RESPONSE_LIMIT,
        "cases": results,
        "targets": evaluate(results, plan),
    }


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _code(code: dict[str, Any]) -> str:
    modified = " with uncommitted changes" if code.get("package_modified") else ""
    return f"serverless_pypi at commit {code.get('commit')}{modified}"


def _percent(share: float | None) -> float | None:
    return None if share is None else 100 * share


def _label(case: dict[str, Any]) -> str:
    kind = case["kind"]
    if kind == "project_page":
        client = "" if case.get("gzip_client", True) else ", client without gzip"
        return f"project page, {case['files']:,} files, {case['format'].upper()}{client}"
    if kind == "upstream_page":
        return f"upstream page, {case['files']:,} files, {case['format'].upper()}, {case['state']}"
    if kind == "root_page":
        return f"root page, {case['projects']:,} projects, {case['format'].upper()}"
    if kind == "reindex_event":
        where = f" ({case['projects']:,}-project bucket)" if "projects" in case else ""
        return f"reindex event: {case['what']}{where}"
    if kind == "metadata":
        return f"`{case['id']}`: {case['what']}"
    return case["id"]


def markdown(doc: dict[str, Any]) -> str:
    plan = doc["plan"]
    cases = doc["cases"]
    m, v = doc["machine"], doc["versions"]
    out = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`tests/bench/run.py`"
        + (", `--quick`" if doc["quick"] else "")
        + "); do not edit by hand.",
        "",
        f"- date: {doc['date']}, code measured: {_code(doc['code'])}, "
        f"total run time {doc['elapsed_s']:.0f} s",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['platform']}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        *(f"- note: {note}" for note in doc.get("notes", ())),
        "",
        "## Targets",
        "",
        "| target | measured | limit | result |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {t['target']} | {_num(t['measured'])} | {t['limit']} | **{t['result']}** |"
        for t in doc["targets"]
    ]
    handler_cases = [c for c in cases if "cpu_ms" in c]
    out += [
        "",
        "## Handler cost",
        "",
        'Medians. "x GetObject": the case divided by one S3 GetObject of a small object '
        "measured in the same runs (its own CPU and wall time are in the last columns).",
        "",
        "| case | handler CPU ms | x GetObject | wall ms | x GetObject | S3 requests "
        "| response bytes | % of 6 MiB | GetObject CPU / wall ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in handler_cases:
        out.append(
            f"| {_label(c)} | {_num(c['cpu_ms'])} | {_num(c['cpu_ratio'], 1)} "
            f"| {_num(c['wall_ms'])} | {_num(c['wall_ratio'], 1)} | {_num(c['s3_requests'])} "
            f"| {_num(c.get('response_bytes'))} "
            f"| {_num(_percent(c.get('response_limit_share')), 1)} "
            f"| {_num(c['getobject_cpu_ms'])} / {_num(c['getobject_wall_ms'])} |"
        )
    reindexes = [c for c in cases if c["kind"] == "full_reindex"]
    if reindexes:
        out += [
            "",
            "## Full reindex (`ReindexApp.rebuild_all()`, once, fresh process)",
            "",
            "| projects x files | wall s | CPU s | S3 requests | requests / project "
            "| peak RSS MiB | RSS growth MiB | moto CPU s |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for c in reindexes:
            out.append(
                f"| {c['projects']:,} x 3 | {_num(c['wall_s'], 1)} | {_num(c['cpu_s'], 1)} "
                f"| {c['s3_requests']:,} | {_num(c['s3_requests'] / max(1, c['projects']), 1)} "
                f"| {_num(c['peak_rss_mib'], 0)} | {_num(c['peak_rss_growth_mib'], 0)} "
                f"| {_num(c['moto_cpu_s'], 1)} |"
            )
    cold = next((c for c in cases if c["kind"] == "cold_start"), None)
    if cold:
        out += [
            "",
            f"## Cold start (median of {cold['runs']} fresh processes each)",
            "",
            "| | total ms | import ms | first request / client ms | CPU ms |",
            "|---|--:|--:|--:|--:|",
            f"| `import serverless_pypi.api` + first `handler()` | {_num(cold['api_total_ms'], 1)} "
            f"| {_num(cold['api_import_ms'], 1)} | {_num(cold['api_first_request_ms'], 1)} "
            f"| {_num(cold['api_cpu_ms'], 1)} |",
            f'| `import boto3; boto3.client("s3")` | {_num(cold["boto3_total_ms"], 1)} '
            f"| {_num(cold['boto3_import_ms'], 1)} | {_num(cold['boto3_client_ms'], 1)} "
            f"| {_num(cold['boto3_cpu_ms'], 1)} |",
            f"| ratio | {cold['ratio']}x | | | {cold['cpu_ratio']}x |",
        ]
    out += queue_cases.markdown(cases)
    out += bounds.markdown(cases)
    out += bigfile.markdown(cases)
    out += [
        "",
        "## Method",
        "",
        METHOD.format(
            runs=plan["runs"],
            warmup=plan["warmup"],
            base=100,
            limit=LAMBDA_RESPONSE_LIMIT,
            share=RESPONSE_SHARE_TARGET,
        ),
    ]
    return "\n".join(out).rstrip() + "\n"


def write(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "benchmarks.json", out_dir / "benchmarks.md"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    md_path.write_text(markdown(doc))
    return json_path, md_path
