"""One reindex event for one big wheel, in a fresh process: ``python bigfile_child.py KEY``.

Configuration comes from the environment (``SERVERLESS_PYPI_*``; ``TMPDIR`` is a directory of
its own, watched for the temporary files indexing makes; ``BENCH_TRUST_CHECKSUMS=1`` makes the
bucket take S3's SHA-256 as it does on AWS, when the code has that). ``PYTHONPATH`` picks the
code: this branch's or the baseline's. Only APIs both have are used. The result is the last
stdout line, prefixed with ``BENCH-RESULT``.
"""

import gzip
import json
import os
import sys
import threading
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(HERE), "support")]


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class TmpWatcher(threading.Thread):
    """The largest total size of the files open under ``TMPDIR`` (unnamed ones too: a
    ``TemporaryFile`` on Linux has no name), sampled every 5 ms."""

    def __init__(self, root: str) -> None:
        super().__init__(daemon=True)
        self.root = os.path.realpath(root)
        self.peak = 0
        self.done = threading.Event()

    def sample(self) -> int:
        total = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith(self.root + "/"):
                    total += os.fstat(int(fd)).st_size
            except OSError:
                continue
        return total

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(0.005)


def main(key: str) -> None:
    from s3events import s3_event
    from timing import RequestCounter, quiet_json_logs

    import serverless_pypi
    from serverless_pypi import config
    from serverless_pypi.reindex.app import ReindexApp
    from serverless_pypi.storage import Bucket, make_client

    settings = config.load_reindex()
    client = make_client(settings)
    trust = os.environ.get("BENCH_TRUST_CHECKSUMS") == "1"
    try:
        bucket = Bucket(client, settings.bucket, trust_checksums=trust)
    except TypeError:  # the baseline has no checksums to trust
        bucket = Bucket(client, settings.bucket)
    app = ReindexApp(settings, bucket)
    counter = RequestCounter(client)
    quiet_json_logs()
    watcher = TmpWatcher(os.environ["TMPDIR"])
    watcher.start()
    rss_before = _peak_rss_mib()
    tracemalloc.start()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = app.handle(s3_event(settings.bucket, key))
    wall1, cpu1 = time.perf_counter(), time.process_time()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    watcher.done.set()
    watcher.join()
    rss_after = _peak_rss_mib()
    stored = bucket.get(f".index/projects/{key.split('/')[0]}.json")
    raw = stored[0] if stored else b"{}"
    document = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    record = document.get("files", {}).get(key, {})
    print(
        "\nBENCH-RESULT "
        + json.dumps(
            {
                "code": os.path.dirname(serverless_pypi.__file__),
                "handled": result,
                "wall_s": wall1 - wall0,
                "cpu_s": cpu1 - cpu0,
                "peak_rss_mib": rss_after,
                "peak_rss_growth_mib": rss_after - rss_before,
                "tracemalloc_peak_mib": traced_peak / 2**20,
                "tmp_peak_mib": watcher.peak / 2**20,
                "s3_requests": counter.total,
                "s3_operations": dict(sorted(counter.by_operation.items())),
                "recorded_sha256": record.get("sha256"),
                "recorded_size": record.get("size"),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
