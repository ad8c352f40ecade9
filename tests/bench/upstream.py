"""Bench rows for the upstream proxy: a cached upstream page (target: the cost of a private
page of the same size, measured in the same run) and a cold one (the upstream is asked, the
page parsed and rendered, its document stored), against a fake upstream on loopback. The
cached page is the one the reindex function renders to the served key."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import seed

from serverless_pypi import config, layout
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.upstream import cache, pages

UPSTREAM_BUCKET = "bench-upstream"
TESTS = Path(__file__).resolve().parents[1]


def upstream_project(n: int) -> str:
    return f"upstream-{n}-files"


def _fake_upstream(root: Path, sizes: tuple[int, ...]) -> Any:
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from support import dists
    from support.fake_upstream import FakeUpstream

    fake = FakeUpstream(root).start()
    data = dists.wheel_bytes("bench", "1.0")  # the bytes are never downloaded here
    for n in sizes:
        for i in range(n):
            fake.add(dists.wheel_filename(upstream_project(n), f"1.{i}"), data)
    return fake


def upstream_pages(bench: Any) -> None:
    """For each page size: the cached page (one GetObject of the served key, as for a private
    page) and a cold one (each run deletes the cache first)."""
    sizes = bench.plan.page_sizes[:3]
    seed.create_bucket(seed.seed_client(bench.moto.url), UPSTREAM_BUCKET)
    root = Path(tempfile.mkdtemp(prefix="bench-upstream-"))
    fake = _fake_upstream(root, sizes)
    try:
        settings = config.Settings(
            bucket=UPSTREAM_BUCKET,
            s3_endpoint_url=bench.moto.url,
            region="us-east-1",
            upstream_index_url=fake.index_url,
        )
        app = ApiApp(settings)
        renderer = ReindexApp(settings, app.bucket).upstream
        assert renderer is not None
        from timing import RequestCounter

        counter = RequestCounter(app.bucket.client)
        for n in sizes:
            project = upstream_project(n)
            event = seed.http_event(f"/simple/{project}/", seed.JSON_ACCEPT)

            def cold(_: int, project: str = project) -> None:
                served = [layout.project_page_key(project, e) for e in pages.EXTENSIONS]
                for key in (*served, cache.doc_key(project)):
                    app.bucket.delete(key)

            def cached(run: int, project: str = project, event: Any = event) -> None:
                if run == 0:  # what the queue does after a cold request: the reindexer renders
                    app.handle(event)
                    renderer.render(project)

            for state, prepare in (("cold", cold), ("cached", cached)):
                result = bench.run_case(
                    f"upstream_page_{state}_json_{n}",
                    "upstream_page",
                    app,
                    counter,
                    lambda event=event: app.handle(event),
                    prepare=prepare,
                    format="json",
                    files=n,
                    state=state,
                )
                if result.get("status") not in (None, 200):
                    raise RuntimeError(f"upstream page failed: {result}")
    finally:
        fake.stop()
        shutil.rmtree(root, ignore_errors=True)


def evaluate(by_id: dict[str, Any], sizes: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """(target, measured, limit, ok) rows: the cached upstream page against the private page
    of the same size and format."""
    rows: list[tuple[Any, ...]] = []
    for n in sizes[:3]:
        cached, private = (
            by_id.get(f"upstream_page_cached_json_{n}"),
            by_id.get(f"project_page_json_{n}"),
        )
        if not cached or not private:
            continue
        ratio = cached["cpu_ms"] / private["cpu_ms"] if private["cpu_ms"] else None
        rows.append(
            (
                f"cached upstream page, {n:,} files (JSON) vs private page: handler CPU",
                f"{ratio:.2f}x ({cached['cpu_ms']:.2f} vs {private['cpu_ms']:.2f} ms)",
                "≤ 1.2x (the same read and response; noise aside, 1.0x)",
                ratio is not None and ratio <= 1.2,
            )
        )
        rows.append(
            (
                f"cached upstream page, {n:,} files: S3 requests",
                f"{cached['s3_requests']:g} (private: {private['s3_requests']:g})",
                "1, as a private page",
                cached["s3_requests_max"] <= 1,
            )
        )
    return rows
