"""``make bench`` still runs: the benchmark with ``--quick`` against its own moto server.

Only the shape of the result is checked; timings are never asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tests" / "bench" / "run.py"

#: Every kind of case and the numeric fields each must carry.
FIELDS = {
    "project_page": ("cpu_ms", "wall_ms", "s3_requests", "cpu_ratio", "response_bytes"),
    "root_page": ("cpu_ms", "wall_ms", "s3_requests", "cpu_ratio", "response_bytes"),
    "metadata": ("cpu_ms", "wall_ms", "s3_requests", "cpu_ratio", "response_bytes"),
    "reindex_event": ("cpu_ms", "wall_ms", "s3_requests", "cpu_ratio", "getobject_cpu_ms"),
    "full_reindex": ("wall_s", "cpu_s", "s3_requests", "peak_rss_mib"),
    "cold_start": ("api_total_ms", "boto3_total_ms", "ratio"),
    "hostile_input": ("call_cpu_ms", "call_wall_ms", "input_bytes"),
    "big_file": ("peak_rss_mib", "tmp_peak_mib", "s3_requests", "file_bytes_read"),
    "upstream_page": ("cpu_ms", "wall_ms", "s3_requests", "cpu_ratio", "response_bytes"),
    "storm": ("failed_invocations", "projects_missing", "s3_requests_per_file", "wall_s"),
    "burst": ("page_renders", "cpu_ms_per_file", "files_missing", "wall_s"),
    "rebuild": ("s3_requests_per_project", "projects_missing", "wall_s"),
}


def test_quick_bench_writes_every_case(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads((tmp_path / "benchmarks.json").read_text())
    cases = result["cases"]
    ids = {c["id"] for c in cases}
    for fmt in ("html", "json"):
        for files in (10, 100):
            assert f"project_page_{fmt}_{files}" in ids
        assert f"root_page_{fmt}_30" in ids
    expected = {
        "metadata_direct",
        "metadata_redirect",
        "metadata_redirect_checked",
        "file_redirect",
        "reindex_event_10",
        "reindex_event_30",
        "reindex_event_new_project_10",
        "reindex_event_new_project_30",
        "reindex_event_project_of_100_files",
        "full_reindex_10",
        "full_reindex_30",
        "cold_start",
        *(
            f"big_file_{v}_{mib}mib"
            for v in ("before", "after", "after_s3_sha256")
            for mib in (16, 64)
        ),
        "upstream_page_cached_json_100",
        "upstream_page_cold_json_100",
        "storm_events_30",
        "storm_queue_30",
        "burst_events_20_into_200",
        "burst_queue_20_into_200",
        "rebuild_events_30",
        "rebuild_queue_30",
    }
    assert expected <= ids, expected - ids
    assert {c["kind"] for c in cases} == set(FIELDS)
    for case in cases:
        for name in FIELDS[case["kind"]]:
            value = case[name]
            assert isinstance(value, int | float) and math.isfinite(value), (case["id"], name)
        if case["kind"] in ("project_page", "root_page", "metadata", "upstream_page"):
            assert case["status"] in (200, 302), case["id"]
    for case in cases:  # through the queue nothing is lost, whatever the timings
        if case["kind"] in ("storm", "burst", "rebuild") and case["mode"] == "queue":
            assert case.get("projects_missing", 0) == case.get("files_missing", 0) == 0, case
            assert case["failed_invocations"] == case["dead_letters"] == 0, case
    assert {t["result"] for t in result["targets"]} <= {"PASS", "MISS", "not run", "no target"}
    markdown = (tmp_path / "benchmarks.md").read_text()
    assert "| case |" in markdown and "## Method" in markdown
