"""``make bench``: the speed of the index's handlers against moto server on 127.0.0.1.

Usage: ``python tests/bench/run.py [--quick] [--out DIR] [--large-projects N] [--only bounds]``.
Writes ``DIR/benchmarks.json`` and ``DIR/benchmarks.md`` (default ``docs/``). Targets are
reported as PASS/MISS, never asserted. See the "Method" section of the markdown for what is
measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from moto_proc import FAKE_AWS_ENV, MotoServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few sizes and runs (smoke test)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="output directory")
    parser.add_argument(
        "--large-projects",
        type=int,
        default=None,
        help="projects in the large bucket (default 10000, or 30 with --quick)",
    )
    parser.add_argument(
        "--only",
        choices=["bounds", "bigfile", "upstream", "cold_start", "queue"],
        help="run only this case: bounds = upload checks on hostile input (no moto needed); "
        "bigfile = indexing one big wheel, before and after; "
        "upstream = the proxy's pages next to private pages of the same sizes; "
        "cold_start = API import + first page request vs boto3 alone; "
        "queue = storm, burst and full rebuild through the reindex queue (queue_cases.py)",
    )
    args = parser.parse_args(argv)

    # Never reach a real account; set before any client exists.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_AWS_ENV)

    import report
    from cases import Bench, Plan
    from timing import quiet_json_logs

    plan = Plan.make(args.quick, args.large_projects)
    code = report.code_identity()
    quiet_json_logs()
    started = time.perf_counter()
    if args.only == "bounds":
        return _report(_bounds([], plan), plan, started, code, args.out)
    if args.only == "bigfile":
        from bigfile import big_files

        with MotoServer() as moto:
            return _report(big_files(moto, quick=plan.quick), plan, started, code, args.out)
    if args.only == "cold_start":
        with MotoServer() as moto:
            bench = Bench(moto, plan)
            bench.create_buckets("bench-small", "bench-large")
            bench.seed_pages()
            bench.cold_start()
        return _report(bench.results, plan, started, code, args.out)
    if args.only == "queue":
        with MotoServer() as moto:
            return _report(_queue(moto, plan), plan, started, code, args.out)
    small, large = "bench-small", "bench-large"
    with MotoServer() as moto:
        print(f"moto server at {moto.url} (pid {moto.process.pid if moto.process else '?'})")
        bench = Bench(moto, plan)
        client = bench.create_buckets(small, large)

        print("seeding project pages (synthetic documents, real rendering) ...", flush=True)
        doc_bytes = bench.seed_pages()
        bench.project_pages(doc_bytes)
        from upstream import upstream_pages

        print("upstream proxy pages (fake upstream on loopback) ...", flush=True)
        upstream_pages(bench)
        if args.only == "upstream":
            return _report(bench.results, plan, started, code, args.out)
        bench.big_project_events(client)
        print("cold start ...", flush=True)
        bench.cold_start()

        from seed import seed_projects

        for name, projects in ((small, plan.small_projects), (large, plan.large_projects)):
            t0 = time.perf_counter()
            count = seed_projects(client, name, projects)
            print(
                f"seeded {count:,} objects into {name} in {time.perf_counter() - t0:.1f} s; "
                "full reindex ...",
                flush=True,
            )
            bench.full_reindex(name, projects)

        bench.root_page(large, plan.large_projects)
        bench.metadata(small)
        bench.reindex_events(small, plan.small_projects, client)
        bench.reindex_events(large, plan.large_projects, client)
        bench.results += _queue(moto, plan)

        from bigfile import big_files

        bench.results += big_files(moto, quick=plan.quick)

    return _report(_bounds(bench.results, plan), plan, started, code, args.out)


def _queue(moto: Any, plan: Any) -> list[dict[str, Any]]:
    """The queue cases, each delivered both ways (the per-event way at a smaller size when
    it takes long: it re-renders a page per event)."""
    import queue_cases

    if plan.quick:
        storm, storm_events, burst, burst_events, existing, rebuild = 30, 30, 20, 20, 200, 30
    else:
        storm, storm_events, burst, burst_events, existing, rebuild = (
            2000, 300, 1000, 100, 10_000, 10_000
        )  # fmt: skip
    print("queue cases: storm, burst, full rebuild ...", flush=True)
    per_event, batches = queue_cases.Delivery("events"), queue_cases.Delivery("queue")
    # A burst goes at the module's default concurrency: it is one project's document.
    burst_batches = queue_cases.Delivery("queue", concurrency=10)
    return [
        queue_cases.storm(moto.url, storm_events, per_event),
        queue_cases.storm(moto.url, storm, batches),
        queue_cases.burst(moto.url, burst_events, existing, per_event),
        queue_cases.burst(moto.url, burst, existing, burst_batches),
        queue_cases.rebuild(moto.url, rebuild, mode="events"),
        queue_cases.rebuild(moto.url, rebuild, mode="queue"),
    ]


def _bounds(results: list[dict[str, Any]], plan: Any) -> list[dict[str, Any]]:
    from bounds import hostile_inputs

    print("upload checks on hostile input ...", flush=True)
    return [*results, *hostile_inputs(runs=3 if plan.quick else 7)]


def _report(
    results: list[dict[str, Any]], plan: Any, started: float, code: dict[str, Any], out: Path
) -> int:
    import report

    doc = report.document(results, plan, time.perf_counter() - started, code)
    json_path, md_path = report.write(doc, out)
    print()
    for target in doc["targets"]:
        print(
            f"  {target['result']:<8} {target['target']}: {target['measured']} "
            f"(target {target['limit']})"
        )
    print(f"\nwrote {json_path} and {md_path} in {doc['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
