"""Work that must run in a fresh process: cold starts and the full reindex.

``python child.py api-cold PATH`` | ``boto3-cold`` | ``reindex-all``; configuration comes from
the environment (``SERVERLESS_PYPI_*``, AWS credentials). The result is the last stdout line,
prefixed with ``RESULT_PREFIX``. Only ``sys``, ``os`` and ``time`` are imported before a cold
start's clock starts.
"""

import os
import sys
import time

RESULT_PREFIX = "BENCH-RESULT "


def _emit(result: dict) -> None:
    import json

    sys.stdout.write("\n" + RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def api_cold(path: str) -> None:
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "text/html"},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1"},
            "requestId": "cold",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    wall0, cpu0 = time.perf_counter(), time.process_time()
    import serverless_pypi.api as api

    wall1 = time.perf_counter()
    response = api.handler(event, None)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    _emit(
        {
            "import_ms": (wall1 - wall0) * 1000,
            "first_request_ms": (wall2 - wall1) * 1000,
            "total_ms": (wall2 - wall0) * 1000,
            "cpu_ms": (cpu2 - cpu0) * 1000,
            "status": response["statusCode"],
        }
    )


def boto3_cold() -> None:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    import boto3

    wall1 = time.perf_counter()
    boto3.client("s3")
    wall2, cpu2 = time.perf_counter(), time.process_time()
    _emit(
        {
            "import_ms": (wall1 - wall0) * 1000,
            "client_ms": (wall2 - wall1) * 1000,
            "total_ms": (wall2 - wall0) * 1000,
            "cpu_ms": (cpu2 - cpu0) * 1000,
        }
    )


def _peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: on Linux that survives
    ``execve`` and so starts at the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reindex_all() -> None:
    """``ReindexApp.rebuild_all()`` once: wall, CPU, S3 requests, peak memory."""
    import gc
    import tracemalloc

    from timing import RequestCounter, quiet_json_logs

    from serverless_pypi import config
    from serverless_pypi.reindex.app import ReindexApp

    app = ReindexApp(config.load())
    counter = RequestCounter(app.bucket.client)
    quiet_json_logs()
    trace = os.environ.get("BENCH_TRACEMALLOC") == "1"
    gc.collect()
    rss_before = _peak_rss_mib()
    if trace:
        tracemalloc.start()
    step = max(1, int(os.environ.get("BENCH_PROGRESS_EVERY", "1000")))

    def progress(objects: int, projects: int) -> None:
        if projects % step == 0:
            elapsed = time.perf_counter() - wall0
            print(
                f"  full reindex: {projects} projects, {objects} objects, {elapsed:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = app.rebuild_all(progress)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    rss_after = _peak_rss_mib()
    _emit(
        {
            "wall_s": wall1 - wall0,
            "cpu_s": cpu1 - cpu0,
            "s3_requests": counter.total,
            "s3_operations": dict(sorted(counter.by_operation.items())),
            "peak_rss_mib": rss_after,
            "rss_before_mib": rss_before,
            "peak_rss_growth_mib": rss_after - rss_before,
            "tracemalloc_peak_mib": traced_peak / 2**20 if traced_peak is not None else None,
            "projects": report.projects,
            "files_added": report.files_added,
        }
    )


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "api-cold":
        api_cold(sys.argv[2])
    elif mode == "boto3-cold":
        boto3_cold()
    elif mode == "reindex-all":
        reindex_all()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
