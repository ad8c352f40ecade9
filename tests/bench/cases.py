"""The benchmark cases. Each returns dicts of numbers that ``report`` turns into the table."""

from __future__ import annotations

import base64
import gzip
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import seed
from child import RESULT_PREFIX
from moto_proc import FAKE_AWS_ENV, MotoServer
from timing import RequestCounter, Samples, measure, timed

from serverless_pypi import config, layout, names
from serverless_pypi.api import gateway
from serverless_pypi.api.app import ApiApp
from serverless_pypi.api.gateway import HttpError, Request, Response
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

#: Lambda's limit for a synchronous response payload (the serialized handler result).
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
BASELINE_BUCKET = "bench-baseline"
BASELINE_KEY = "small-object"
BASELINE_BYTES = 100
PAGES_BUCKET = "bench-pages"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to run: the full benchmark, or ``--quick`` for a smoke test."""

    quick: bool
    page_sizes: tuple[int, ...]
    small_projects: int
    large_projects: int
    runs: int
    warmup: int
    cold_runs: int
    big_event_sizes: tuple[int, ...]

    @classmethod
    def make(cls, quick: bool, large_projects: int | None = None) -> Plan:
        if quick:
            return cls(True, (10, 100), 10, large_projects or 30, 3, 1, 1, (100,))
        return cls(
            False,
            (10, 100, 1_000, 5_000, 10_000),
            100,
            large_projects or 10_000,
            25,
            3,
            20,
            (1_000, 10_000),
        )


class PresignedMetadataApi(ApiApp):
    """The alternative under measurement for ``.metadata``: redirect to a presigned URL of the
    sidecar instead of serving its bytes. ``check_exists`` adds a HeadObject so that a missing
    sidecar is a 404 from the API rather than an S3 error page after the redirect."""

    check_exists = False

    def core_metadata(self, request: Request, prefix: str, filename: str) -> Response:
        location = names.parse_key(f"{prefix}/{filename}")
        if location is None or not location.dist.is_wheel:
            raise HttpError(404, "Not found: no metadata for this file.")
        key = layout.metadata_key(location.key)
        if self.check_exists and self.bucket.head(key) is None:
            raise HttpError(404, "Not found: no metadata for this file.")
        url = self.bucket.presign(key, method=request.method, expires_in=self.settings.url_ttl)
        return gateway.redirect(302, url)


class CheckedPresignedMetadataApi(PresignedMetadataApi):
    check_exists = True


@dataclass
class Bench:
    moto: MotoServer
    plan: Plan
    results: list[dict[str, Any]] = field(default_factory=list)
    _apps: dict[tuple[str, str], tuple[Any, RequestCounter]] = field(default_factory=dict)

    # -- plumbing -------------------------------------------------------------------------------
    def settings(self, bucket: str) -> config.Settings:
        return config.Settings(bucket=bucket, s3_endpoint_url=self.moto.url, region="us-east-1")

    def app(self, kind: str, bucket: str) -> tuple[Any, RequestCounter]:
        """One app (and its request counter) per kind and bucket, reused across runs so the
        numbers are those of a warm Lambda container."""
        if (kind, bucket) not in self._apps:
            factory = {
                "api": ApiApp,
                "reindex": ReindexApp,
                "metadata-redirect": PresignedMetadataApi,
                "metadata-redirect-checked": CheckedPresignedMetadataApi,
            }[kind]
            app = factory(self.settings(bucket))
            self._apps[kind, bucket] = (app, RequestCounter(app.bucket.client))
        return self._apps[kind, bucket]

    def bucket(self, name: str) -> Bucket:
        return self.app("api", name)[0].bucket

    def baseline_for(self, client: Any) -> Callable[[], Any]:
        def get_small_object() -> bytes:
            return client.get_object(Bucket=BASELINE_BUCKET, Key=BASELINE_KEY)["Body"].read()

        return get_small_object

    def run_case(
        self,
        case_id: str,
        kind: str,
        app: Any,
        counter: RequestCounter,
        call: Callable[[], Any],
        prepare: Callable[[int], None] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        samples = measure(
            call,
            counter=counter,
            baseline=self.baseline_for(app.bucket.client),
            runs=self.plan.runs,
            warmup=self.plan.warmup,
            prepare=prepare,
        )
        result = {"id": case_id, "kind": kind, **extra, **samples.summary()}
        if isinstance(samples.last_result, dict) and "statusCode" in samples.last_result:
            result.update(_response_facts(samples))
        self.results.append(result)
        _progress(result)
        return result

    # -- setup ----------------------------------------------------------------------------------
    def create_buckets(self, *names_: str) -> Any:
        client = seed.seed_client(self.moto.url)
        for name in (BASELINE_BUCKET, PAGES_BUCKET, *names_):
            seed.create_bucket(client, name)
        client.put_object(Bucket=BASELINE_BUCKET, Key=BASELINE_KEY, Body=b"x" * BASELINE_BYTES)
        return client

    def seed_pages(self) -> dict[int, int]:
        """Synthetic project documents and pages for every page size (see ``seed``)."""
        bucket = self.bucket(PAGES_BUCKET)
        sizes = sorted({*self.plan.page_sizes, *self.plan.big_event_sizes})
        doc_bytes = {n: seed.publish_synthetic_project(bucket, page_project(n), n) for n in sizes}
        seed.publish_root(self.app("reindex", PAGES_BUCKET)[0], [page_project(n) for n in sizes])
        return doc_bytes

    # -- cases ----------------------------------------------------------------------------------
    def project_pages(self, doc_bytes: dict[int, int]) -> None:
        """Every size as pip and uv ask (gzip accepted); the largest also without gzip."""
        app, counter = self.app("api", PAGES_BUCKET)
        largest = max(self.plan.page_sizes)
        for n in self.plan.page_sizes:
            for gzip_ok in (True, False) if n == largest else (True,):
                for fmt, accept in (("html", seed.HTML_ACCEPT), ("json", seed.JSON_ACCEPT)):
                    event = seed.http_event(f"/simple/{page_project(n)}/", accept, gzip=gzip_ok)
                    result = self.run_case(
                        f"project_page_{fmt}_{n}" + ("" if gzip_ok else "_identity"),
                        "project_page",
                        app,
                        counter,
                        lambda event=event: app.handle(event),
                        format=fmt,
                        files=n,
                        gzip_client=gzip_ok,
                        document_bytes=doc_bytes[n],
                    )
                    _check_page(result, app.handle(event), fmt, n)

    def root_page(self, bucket: str, projects: int) -> None:
        app, counter = self.app("api", bucket)
        for fmt, accept in (("html", seed.HTML_ACCEPT), ("json", seed.JSON_ACCEPT)):
            event = seed.http_event("/simple/", accept)
            self.run_case(
                f"root_page_{fmt}_{projects}",
                "root_page",
                app,
                counter,
                lambda event=event: app.handle(event),
                format=fmt,
                projects=projects,
            )

    def metadata(self, bucket: str) -> None:
        """``.metadata`` served directly (today) against redirects to a presigned URL."""
        project = seed.project_name(0)
        filename, _ = seed.wheel(project, "1.0")
        path = f"/files/{project}/{filename}"
        variants = (
            ("metadata_direct", "api", "body served from one GetObject (current)"),
            ("metadata_redirect", "metadata-redirect", "302 to a presigned URL, no check"),
            (
                "metadata_redirect_checked",
                "metadata-redirect-checked",
                "HeadObject, then 302 to a presigned URL",
            ),
        )
        for case_id, kind, what in variants:
            app, counter = self.app(kind, bucket)
            event = seed.http_event(path + ".metadata")
            self.run_case(
                case_id, "metadata", app, counter, lambda app=app, e=event: app.handle(e), what=what
            )
        app, counter = self.app("api", bucket)
        event = seed.http_event(path)
        self.run_case(
            "file_redirect",
            "metadata",
            app,
            counter,
            lambda: app.handle(event),
            what="file download: HeadObject, then 302 to a presigned URL (current)",
        )

    def reindex_events(self, bucket: str, projects: int, client: Any) -> None:
        """One SNS-wrapped ObjectCreated event per run: a new wheel in an existing 3-file
        project (a different project each run), then a wheel that creates a new project."""
        app, counter = self.app("reindex", bucket)
        current: dict[str, Any] = {}

        def new_file(i: int) -> None:
            project = seed.project_name(i % projects)
            filename, data = seed.wheel(project, f"2.{i}")
            client.put_object(Bucket=bucket, Key=f"{project}/{filename}", Body=data)
            current["event"] = seed.s3_created_event(bucket, f"{project}/{filename}")

        def new_project(i: int) -> None:
            project = f"new-project-{i:04d}"
            filename, data = seed.wheel(project, "1.0")
            client.put_object(Bucket=bucket, Key=f"{project}/{filename}", Body=data)
            current["event"] = seed.s3_created_event(bucket, f"{project}/{filename}")

        for case_id, prepare, what in (
            (f"reindex_event_{projects}", new_file, "new wheel in an existing project"),
            (f"reindex_event_new_project_{projects}", new_project, "wheel of a new project"),
        ):
            self.run_case(
                case_id,
                "reindex_event",
                app,
                counter,
                lambda: app.handle(current["event"]),
                prepare=prepare,
                projects=projects,
                what=what,
            )

    def big_project_events(self, client: Any) -> None:
        """The same event for a project that already has N files: the page re-render."""
        app, counter = self.app("reindex", PAGES_BUCKET)
        for n in self.plan.big_event_sizes:
            project = page_project(n)
            current: dict[str, Any] = {}

            def prepare(i: int, project: str = project, current: dict[str, Any] = current) -> None:
                filename, data = seed.wheel(project, f"9999.{i}")
                client.put_object(Bucket=PAGES_BUCKET, Key=f"{project}/{filename}", Body=data)
                current["event"] = seed.s3_created_event(PAGES_BUCKET, f"{project}/{filename}")

            self.run_case(
                f"reindex_event_project_of_{n}_files",
                "reindex_event",
                app,
                counter,
                lambda current=current: app.handle(current["event"]),
                prepare=prepare,
                files=n,
                what=f"new wheel in a project of {n} files",
            )

    def full_reindex(self, bucket: str, projects: int) -> dict[str, Any]:
        """``rebuild_all()`` once, in a fresh process (clean peak-memory numbers)."""
        moto_cpu0 = self.moto.cpu_seconds()
        out = _child(["reindex-all"], self._child_env(bucket), stream_stderr=True)
        result = {
            "id": f"full_reindex_{projects}",
            "kind": "full_reindex",
            "projects": projects,
            "objects": projects * 3,
            "runs": 1,
            **out,
            "moto_cpu_s": round(self.moto.cpu_seconds() - moto_cpu0, 2),
        }
        self.results.append(result)
        _progress(result)
        return result

    def cold_start(self) -> None:
        """Fresh processes, alternating: API import + first request vs boto3 + client."""
        env = self._child_env(PAGES_BUCKET)
        path = f"/simple/{page_project(self.plan.page_sizes[0])}/"
        api_runs: list[dict[str, Any]] = []
        boto_runs: list[dict[str, Any]] = []
        for i in range(1 + self.plan.cold_runs):  # the first pair warms the disk cache
            api = _child(["api-cold", path], env)
            boto = _child(["boto3-cold"], env)
            if api.get("status") != 200:
                raise RuntimeError(f"cold start request failed: {api}")
            if i:
                api_runs.append(api)
                boto_runs.append(boto)

        def med(runs: list[dict[str, Any]], name: str) -> float:
            return round(statistics.median(r[name] for r in runs), 2)

        result = {
            "id": "cold_start",
            "kind": "cold_start",
            "runs": len(api_runs),
            "api_total_ms": med(api_runs, "total_ms"),
            "api_import_ms": med(api_runs, "import_ms"),
            "api_first_request_ms": med(api_runs, "first_request_ms"),
            "api_cpu_ms": med(api_runs, "cpu_ms"),
            "boto3_total_ms": med(boto_runs, "total_ms"),
            "boto3_import_ms": med(boto_runs, "import_ms"),
            "boto3_client_ms": med(boto_runs, "client_ms"),
            "boto3_cpu_ms": med(boto_runs, "cpu_ms"),
        }
        result["ratio"] = round(result["api_total_ms"] / result["boto3_total_ms"], 2)
        result["cpu_ratio"] = round(result["api_cpu_ms"] / result["boto3_cpu_ms"], 2)
        self.results.append(result)
        _progress(result)

    def _child_env(self, bucket: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SERVERLESS_"))}
        env.update(FAKE_AWS_ENV)
        env.update(
            {
                config.BUCKET: bucket,
                config.S3_ENDPOINT_URL: self.moto.url,
                config.LOG_LEVEL: "INFO",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p
                ),
            }
        )
        return env


def page_project(n: int) -> str:
    return f"bench-n{n}"


def _response_facts(samples: Samples) -> dict[str, Any]:
    response = samples.last_result
    encoded = json.dumps(response)
    encode_cpu = statistics.median(timed(lambda: json.dumps(response))[0] for _ in range(5))
    body = response.get("body", "").encode()
    return {
        "status": response["statusCode"],
        "content_encoding": response.get("headers", {}).get("Content-Encoding", "identity"),
        "body_bytes": len(body),
        "response_bytes": len(encoded.encode()),
        "response_limit_share": round(len(encoded.encode()) / LAMBDA_RESPONSE_LIMIT, 4),
        "runtime_encode_cpu_ms": round(encode_cpu, 3),
    }


def _check_page(result: dict[str, Any], response: dict[str, Any], fmt: str, files: int) -> None:
    """The page served really lists every file (a benchmark of a 404 would be worthless)."""
    body = response["body"]
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        if response.get("headers", {}).get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = raw.decode()
    shown = len(json.loads(body)["files"]) if fmt == "json" else body.count("<a href=")
    if response["statusCode"] != 200 or shown != files:
        raise RuntimeError(f"{result['id']}: status {response['statusCode']}, {shown} files")


def _child(args: list[str], env: dict[str, str], *, stream_stderr: bool = False) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(HERE / "child.py"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=None if stream_stderr else subprocess.PIPE,
        check=False,
        text=True,
    )
    lines = [ln for ln in completed.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"child {args} failed ({completed.returncode}): {completed.stderr or ''}"[-2000:]
        )
    return json.loads(lines[-1].removeprefix(RESULT_PREFIX))


def _progress(result: dict[str, Any]) -> None:
    if result["kind"] == "full_reindex":
        line = (
            f"{result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU, "
            f"{result['s3_requests']} requests, peak RSS {result['peak_rss_mib']:.0f} MiB"
        )
    elif result["kind"] == "cold_start":
        line = (
            f"api {result['api_total_ms']:.0f} ms vs boto3 {result['boto3_total_ms']:.0f} ms "
            f"= {result['ratio']}x"
        )
    else:
        line = (
            f"cpu {result['cpu_ms']:.2f} ms ({result['cpu_ratio']}x GetObject), "
            f"wall {result['wall_ms']:.2f} ms, {result['s3_requests']:g} S3 requests"
        )
    print(f"  {result['id']:<40} {line}", flush=True)
