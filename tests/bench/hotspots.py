"""Where a case's CPU goes: cProfile of one benchmark case, warm, against moto server.

``python tests/bench/hotspots.py CASE [--runs N] [--top N]`` with CASE one of
``event-large-bucket`` (a new wheel in a 3-file project, root state of 10,000 projects),
``event-new-project`` (a wheel that creates a new project, root state of 10,000 projects),
``event-large-project`` (a new wheel in a project of 10,000 files), ``page`` (the 10,000-file
JSON page). Prints the functions with the most cumulative and own time. Not part of
``make bench``; for looking into a MISS.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from moto_proc import FAKE_AWS_ENV, MotoServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "case", choices=("event-large-bucket", "event-new-project", "event-large-project", "page")
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument(
        "--cpu", action="store_true", help="print CPU ms per run (median, no profiler) instead"
    )
    args = parser.parse_args()
    os.environ.update(FAKE_AWS_ENV)

    import seed
    from timing import quiet_json_logs

    from serverless_pypi import config
    from serverless_pypi.api.app import ApiApp
    from serverless_pypi.reindex.app import ReindexApp

    quiet_json_logs()
    with MotoServer() as moto:
        settings = config.Settings(bucket="hot", s3_endpoint_url=moto.url)
        client = seed.seed_client(moto.url)
        seed.create_bucket(client, "hot")
        reindex = ReindexApp(settings)
        api = ApiApp(settings)
        project = "proj-00000"
        if args.case in ("event-large-bucket", "event-new-project"):
            seed.put_many(client, "hot", seed.project_objects(project))
            names = [seed.project_name(i) for i in range(args.size)]
            seed.publish_root(reindex, names)
            reindex.rebuild_project(project)
        else:
            project = f"bench-n{args.size}"
            seed.publish_synthetic_project(reindex.bucket, project, args.size)
            seed.publish_root(reindex, [project])
        events = []
        for i in range(args.runs + 1):
            target = f"new-project-{i:04d}" if args.case == "event-new-project" else project
            filename, data = seed.wheel(target, f"7.{i}")
            client.put_object(Bucket="hot", Key=f"{target}/{filename}", Body=data)
            events.append(seed.s3_created_event("hot", f"{target}/{filename}"))
        page = seed.http_event(f"/simple/{project}/", seed.JSON_ACCEPT)

        def once(i: int) -> None:
            if args.case == "page":
                api.handle(page)
            else:
                reindex.handle(events[i])

        once(0)  # warm
        if args.cpu:
            times = []
            for i in range(1, args.runs + 1):
                started = time.process_time()
                once(i)
                times.append((time.process_time() - started) * 1000)
            print(
                f"{args.case}: median {statistics.median(times):.1f} ms CPU over {args.runs} runs"
            )
            return
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(1, args.runs + 1):
            once(i)
        profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    print(f"== {args.case}: {args.runs} runs, cumulative ==")
    stats.sort_stats("cumulative").print_stats(args.top)
    print(f"== {args.case}: own time ==")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
