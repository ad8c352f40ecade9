"""What the web pages cost, against moto server on 127.0.0.1, each figure beside its baseline
measured in the same run (ratios, not absolute times):

- reindex per event (a new wheel version with a 6 KB Markdown description; a yank): with the
  web hook vs with it replaced by a no-op (the simple pages only), S3 calls counted;
- API reads: ``/project/<name>/`` and ``/pypi/<name>/json`` vs ``/simple/<name>/``;
- the welcome page at 1,000 and 10,000 projects vs ``/simple/`` (the root page) of as many;
- API cold import: ``serverless_pypi.api`` here vs the same import from a baseline tree.

Usage: ``python tests/bench/web_cost.py [--baseline-src /path/to/baseline/src]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from moto_proc import FAKE_AWS_ENV, MotoServer  # noqa: E402

DESCRIPTION = ("## Section\n\nSome *text* with `code` and a [link](https://example.org).\n\n" * 60)[
    :6000
]


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def child_events(endpoint: str, bucket_name: str, count: int) -> dict[str, Any]:
    """In a fresh process, with whichever ``serverless_pypi`` PYTHONPATH names: new-version
    events for one project, then a yank; CPU and S3 calls of each."""
    from support.dists import wheel_bytes, wheel_filename
    from support.s3events import s3_event
    from timing import RequestCounter, quiet_json_logs

    from serverless_pypi import config, layout
    from serverless_pypi.reindex.app import ReindexApp
    from serverless_pypi.storage import Bucket, make_client

    quiet_json_logs("WARNING")
    settings = config.load({config.BUCKET: bucket_name, config.S3_ENDPOINT_URL: endpoint})
    client = make_client(settings)
    client.create_bucket(Bucket=bucket_name)
    bucket = Bucket(client, bucket_name)
    reindex = ReindexApp(settings, bucket)
    counter = RequestCounter(client)
    headers = ("Summary: s", "Description-Content-Type: text/markdown")
    cpu: list[float] = []
    calls: list[int] = []

    def handle(key: str) -> None:
        counter.reset()
        t0 = time.process_time()
        reindex.handle(s3_event(bucket_name, key))
        cpu.append((time.process_time() - t0) * 1000)
        calls.append(counter.total)

    for i in range(count):
        key = f"bench-proj/{wheel_filename('bench-proj', f'1.{i}')}"
        data = wheel_bytes("bench-proj", f"1.{i}", headers=headers, description=DESCRIPTION)
        client.put_object(Bucket=bucket_name, Key=key, Body=data)
        handle(key)
    yank = layout.yank_key(f"bench-proj/{wheel_filename('bench-proj', '1.0')}")
    bucket.put(yank, b"reason", "text/plain")
    handle(yank)
    return {
        "cpu": cpu[1:-1],  # the first event pays for imports
        "calls": calls[1:-1],
        "yank_cpu": cpu[-1:],
        "yank_calls": calls[-1:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, default=Path("/work/main/src"))
    parser.add_argument("--events", type=int, default=15)
    parser.add_argument("--child-events", nargs=2, metavar=("ENDPOINT", "BUCKET"))
    args = parser.parse_args()
    os.environ.update(FAKE_AWS_ENV)
    if args.child_events:
        print(json.dumps(child_events(*args.child_events, args.events)))
        return 0
    from support.apigw import http_event
    from support.dists import wheel_bytes, wheel_filename
    from support.s3events import s3_event
    from timing import RequestCounter, quiet_json_logs

    from serverless_pypi import config, layout
    from serverless_pypi.api.app import ApiApp
    from serverless_pypi.reindex.app import ReindexApp
    from serverless_pypi.storage import Bucket, make_client
    from serverless_pypi.web import cards

    quiet_json_logs("WARNING")
    rows: list[tuple[str, float, float, str]] = []
    with MotoServer() as moto:
        os.environ[config.S3_ENDPOINT_URL] = moto.url

        def fresh(name: str) -> tuple[Bucket, ReindexApp, ApiApp, RequestCounter]:
            settings = config.load({config.BUCKET: name, config.S3_ENDPOINT_URL: moto.url})
            client = make_client(settings)
            client.create_bucket(Bucket=name)
            bucket = Bucket(client, name)
            return (
                bucket,
                ReindexApp(settings, bucket),
                ApiApp(settings, bucket),
                RequestCounter(client),
            )

        def child(src: Path, bucket_name: str) -> dict[str, Any]:
            env = {**os.environ, "PYTHONPATH": str(src)}
            command = [sys.executable, __file__, "--child-events", moto.url, bucket_name]
            command += ["--events", str(args.events)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
            return result

        here_src = HERE.parents[1] / "src"
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "web": []}
        for n in range(2):  # alternating, in fresh processes (baseline: the other tree's code)
            runs["base"].append(child(args.baseline_src, f"bench-web-base-{n}"))
            runs["web"].append(child(here_src, f"bench-web-hook-{n}"))

        def med(kind: str, field: str) -> float:
            return statistics.median(v for r in runs[kind] for v in r[field])

        for label, field, calls in (
            ("reindex: new version event, CPU ms", "cpu", "calls"),
            ("reindex: yank event, CPU ms", "yank_cpu", "yank_calls"),
        ):
            rows.append(
                (
                    label,
                    med("web", field),
                    med("base", field),
                    f"S3 calls {med('web', calls):.0f} vs {med('base', calls):.0f}",
                )
            )

        bucket, reindex, api, counter = fresh("bench-web-reads")
        for i in range(5):
            key = f"bench-proj/{wheel_filename('bench-proj', f'1.{i}')}"
            data = wheel_bytes("bench-proj", f"1.{i}", description=DESCRIPTION)
            bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)
            reindex.handle(s3_event(bucket.name, key))
        browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Encoding": "gzip"}
        pip = {"Accept": "application/vnd.pypi.simple.v1+json", "Accept-Encoding": "gzip"}

        def get(
            app: ApiApp, path: str, headers: dict[str, str], query: str = ""
        ) -> Callable[[], Any]:
            return lambda: app.handle(http_event("GET", path, query=query, headers=headers), None)

        simple = median_ms(get(api, "/simple/bench-proj/", pip), 40)
        rows.append(
            (
                "API: /project/<name>/ (ms)",
                median_ms(get(api, "/project/bench-proj/", browser), 40),
                simple,
                "vs /simple/<name>/",
            )
        )
        rows.append(
            (
                "API: /pypi/<name>/json (ms)",
                median_ms(get(api, "/pypi/bench-proj/json", pip), 40),
                simple,
                "vs /simple/<name>/",
            )
        )
        counter.reset()
        get(api, "/project/bench-proj/", browser)()
        rows.append(("API: S3 calls per project page", counter.total, 1, ""))

        for size in (1000, 10000):
            bucket, reindex, api, counter = fresh(f"bench-web-home-{size}")
            shards: dict[int, cards.Shard] = {}
            names = []
            for n in range(size):
                name = f"project-{n:05d}"
                names.append(name)
                card = cards.Card(
                    name,
                    "1.2.3",
                    "A summary of about forty characters long",
                    f"2024-01-01T00:00:{n % 60:02d}.000000Z",
                )
                shards.setdefault(cards.shard_of(name), {})[name] = card
            total = 0
            for number, shard in shards.items():
                body = cards.dump(shard)
                total += len(body)
                bucket.put(layout.catalog_key(number), body, "application/json")
            from serverless_pypi import render
            from serverless_pypi.reindex.state import compress

            bucket.put(
                layout.ROOT_JSON,
                compress(render.root_json(sorted(names)).encode()),
                "application/json",
                content_encoding="gzip",
            )
            home = median_ms(get(api, "/", browser), 15)
            root = median_ms(
                get(api, "/simple/", {"Accept": "text/html", "Accept-Encoding": "gzip"}), 15
            )
            rows.append(
                (
                    f"API: / at {size:,} projects (ms)",
                    home,
                    root,
                    f"vs /simple/ HTML; shards {total / 1e3:.0f} kB gz",
                )
            )
            search = median_ms(get(api, "/", browser, "q=project-0001"), 15)
            rows.append((f"API: /?q= at {size:,} projects (ms)", search, root, "vs /simple/ HTML"))

    def cold(src: Path) -> float:
        code = (
            "import time;t=time.perf_counter();import serverless_pypi.api;"
            "print((time.perf_counter()-t)*1000)"
        )
        env = {**os.environ, "PYTHONPATH": str(src)}
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(9)
        ]
        return statistics.median(runs)

    if args.baseline_src.exists():
        base, mine = [], []
        for _ in range(2):
            base.append(cold(args.baseline_src))
            mine.append(cold(here_src))
        rows.append(
            (
                "API cold import (ms)",
                statistics.median(mine),
                statistics.median(base),
                f"baseline {args.baseline_src}",
            )
        )

    print("| measure | this branch | baseline | ratio | note |\n|---|---:|---:|---:|---|")
    for name, value, baseline, note in rows:
        print(f"| {name} | {value:.1f} | {baseline:.1f} | {value / baseline:.2f} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
