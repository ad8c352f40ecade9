"""Event bursts through the reindex queue (issue 15), against moto server.

Each case runs one way of delivering the same events and reports counts and ratios:
- ``events``: one SNS event per invocation, ``concurrency`` warm handlers at once (S3 -> SNS ->
  Lambda as at 7be780b; this mode runs against older code too, see ``queue_bench.py``);
- ``queue``: the events as SNS envelopes in a moto SQS queue (redrive after 5 receives), read
  by ``concurrency`` pollers (``local.sqs.QueuePoller``, the event source mapping's stand-in)
  in batches of ``batch_size`` gathered for up to ``window`` seconds.

Cases: ``storm`` (N new projects at once), ``burst`` (N new files into one project of M files),
``rebuild`` (a full rebuild of N projects: ``rebuild_all`` in one process, or the fan-out over
the queue). Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import seed
from timing import RequestCounter

from serverless_pypi import config, documents, layout
from serverless_pypi.reindex import project as reindex_project
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

#: Receives before the queue moves a message to its dead-letter queue (the module's default).
MAX_RECEIVES = 5


@contextmanager
def counting_renders() -> Iterator[Counter[str]]:
    """Count ``ProjectDocument.render`` calls (one per render of a project's two pages)."""
    renders: Counter[str] = Counter()
    original = reindex_project.ProjectDocument.render
    lock = threading.Lock()

    def render(self: Any, state: Any) -> Any:
        with lock:
            renders[self.project] += 1
        return original(self, state)

    reindex_project.ProjectDocument.render = render  # type: ignore[method-assign]
    try:
        yield renders
    finally:
        reindex_project.ProjectDocument.render = original  # type: ignore[method-assign]


class Apps:
    """One warm handler per worker thread, each with its own S3 client and request count."""

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings
        self.counters: list[RequestCounter] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def get(self) -> ReindexApp:
        app = getattr(self._local, "app", None)
        if app is None:
            app = self._local.app = ReindexApp(self.settings)
            with self._lock:
                self.counters.append(RequestCounter(app.bucket.client))
        return app

    @property
    def requests(self) -> int:
        return sum(c.total for c in self.counters)


def root_names(bucket: Bucket) -> set[str]:
    stored = bucket.get(layout.ROOT_JSON)
    return set(documents.load_root(stored[0])) if stored else set()


def _deliver_events(apps: Apps, keys: list[str], concurrency: int) -> dict[str, Any]:
    failed = 0

    def one(key: str) -> None:
        nonlocal failed
        try:
            apps.get().handle(seed.s3_created_event(apps.settings.bucket, key))
        except Exception:
            failed += 1

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, keys))
    return {"invocations": len(keys), "failed_invocations": failed, "failed_messages": failed}


def _sqs(url: str) -> Any:
    from botocore.config import Config
    from botocore.session import get_session

    return get_session().create_client(
        "sqs", region_name="us-east-1", endpoint_url=url, config=Config(max_pool_connections=64)
    )


def _envelope(bucket: str, key: str) -> str:
    record = seed.s3_created_event(bucket, key)["Records"][0]["Sns"]
    return json.dumps({"Type": "Notification", "TopicArn": record["TopicArn"], **record})


def _queue(sqs: Any, name: str) -> tuple[str, str, str]:
    dead = sqs.create_queue(QueueName=f"{name}-dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": str(MAX_RECEIVES),
    }
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(redrive)})
    arn = sqs.get_queue_attributes(QueueUrl=url["QueueUrl"], AttributeNames=["QueueArn"])
    return url["QueueUrl"], arn["Attributes"]["QueueArn"], dead


def _depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def send_all(sqs: Any, url: str, bodies: list[str]) -> None:
    """Send ``bodies`` as the topic would, ten per request on eight threads."""
    chunks = [bodies[i : i + 10] for i in range(0, len(bodies), 10)]

    def send(chunk: list[str]) -> None:
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, chunks))


def _drain_queue(
    apps: Apps,
    moto_url: str,
    name: str,
    send: Callable[[Any, str], None],
    done: Callable[[], bool],
    *,
    concurrency: int,
    batch_size: int,
    window: float,
    timeout: float,
) -> dict[str, Any]:
    """Run ``concurrency`` pollers on a fresh queue, let ``send`` fill it, and wait until
    ``done()`` and the queue is empty (or ``timeout``)."""
    from serverless_pypi.local.sqs import QueuePoller

    sqs = _sqs(moto_url)
    url, arn, dead = _queue(sqs, name)
    stats: Counter[str] = Counter(
        dict.fromkeys(("invocations", "messages", "failed_invocations", "failed_messages"), 0)
    )
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> Any:
        with lock:
            stats["invocations"] += 1
            stats["messages"] += len(event["Records"])
        try:
            result = apps.get().handle(event, context)
        except Exception:
            with lock:
                stats["failed_invocations"] += 1
            raise
        with lock:
            stats["failed_messages"] += len(result.get("batchItemFailures", ()))
        return result

    pollers = [
        QueuePoller(
            sqs,
            url,
            arn,
            handler,
            bucket=apps.settings.bucket,
            batch_size=batch_size,
            window=window,
            retry_after=1,
        )
        for _ in range(concurrency)
    ]
    for poller in pollers:
        poller.start()
    started = time.perf_counter()
    send(sqs, url)
    sent = time.perf_counter()
    deadline = sent + timeout
    while time.perf_counter() < deadline and not (done() and _depth(sqs, url) == 0):
        time.sleep(0.2)
    finished = time.perf_counter()
    with ThreadPoolExecutor(len(pollers)) as pool:  # each waits out its long poll
        list(pool.map(lambda poller: poller.stop(10), pollers))
    return {
        **stats,
        "dead_letters": _depth(sqs, dead),
        "send_s": round(sent - started, 2),
        "after_last_event_s": round(finished - sent, 2),
        "timed_out": finished >= deadline,
    }


@dataclass(frozen=True)
class Delivery:
    """How the events of a case reach the handler."""

    mode: str  # "events" or "queue"
    concurrency: int = 32
    batch_size: int = 100
    window: float = 0.5
    timeout: float = 1800

    def run(
        self, apps: Apps, moto_url: str, name: str, keys: list[str], done: Callable[[], bool]
    ) -> dict[str, Any]:
        """Deliver one ObjectCreated event per key; the counts of what happened."""
        started = time.perf_counter()
        if self.mode == "events":
            out = _deliver_events(apps, keys, self.concurrency)
            return {**out, "after_last_event_s": round(time.perf_counter() - started, 2)}
        bodies = [_envelope(name, key) for key in keys]
        return _drain_queue(
            apps,
            moto_url,
            name,
            lambda sqs, url: send_all(sqs, url, bodies),
            done,
            concurrency=self.concurrency,
            batch_size=self.batch_size,
            window=self.window,
            timeout=self.timeout,
        )

    def describe(self) -> dict[str, Any]:
        batch = self.batch_size if self.mode == "queue" else 1
        return {"mode": self.mode, "concurrency": self.concurrency, "batch_size": batch}


def storm(moto_url: str, projects: int, delivery: Delivery) -> dict[str, Any]:
    """``projects`` new projects (one wheel each) whose events arrive at once."""
    name = f"storm-{delivery.mode}-{projects}"
    client = seed.seed_client(moto_url)
    seed.create_bucket(client, name)
    keys = []
    objects = []
    for i in range(projects):
        project = f"storm-{i:05d}"
        filename, data = seed.wheel(project, "1.0")
        keys.append(f"{project}/{filename}")
        objects.append((keys[-1], data))
    seed.put_many(client, name, objects)
    settings = config.Settings(bucket=name, s3_endpoint_url=moto_url)
    apps = Apps(settings)
    bucket = Bucket(seed.seed_client(moto_url), name)
    expected = {key.partition("/")[0] for key in keys}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out = delivery.run(apps, moto_url, name, keys, lambda: expected <= root_names(bucket))
    wall = time.perf_counter() - t0
    missing = len(expected - root_names(bucket))
    return {
        "id": f"storm_{delivery.mode}_{projects}",
        "kind": "storm",
        **delivery.describe(),
        "projects": projects,
        **out,
        "projects_missing": missing,
        "s3_requests_per_file": round(apps.requests / projects, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - cpu0, 2),
    }


def burst(moto_url: str, files: int, existing: int, delivery: Delivery) -> dict[str, Any]:
    """``files`` new wheels into one project that already has ``existing`` files."""
    name = f"burst-{delivery.mode}-{files}"
    client = seed.seed_client(moto_url)
    seed.create_bucket(client, name)
    project = "burst-project"
    bucket = Bucket(seed.seed_client(moto_url), name)
    seed.publish_synthetic_project(bucket, project, existing)
    objects = [
        (f"{project}/{filename}", data)
        for filename, data in (seed.wheel(project, f"9000.{i}") for i in range(files))
    ]
    seed.put_many(client, name, objects)
    keys = [key for key, _ in objects]
    settings = config.Settings(bucket=name, s3_endpoint_url=moto_url)
    apps = Apps(settings)

    def indexed() -> bool:
        files_now, _ = reindex_project.ProjectDocument(bucket, project).load()
        return len(files_now) == existing + files

    with counting_renders() as renders:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        out = delivery.run(apps, moto_url, name, keys, indexed)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - t0
    files_now, _ = reindex_project.ProjectDocument(bucket, project).load()
    return {
        "id": f"burst_{delivery.mode}_{files}_into_{existing}",
        "kind": "burst",
        **delivery.describe(),
        "files": files,
        "existing": existing,
        **out,
        "files_missing": existing + files - len(files_now),
        "page_renders": renders[project],
        "renders_per_100_files": round(100 * renders[project] / files, 2),
        "cpu_ms_per_file": round(1000 * cpu / files, 1),
        "s3_requests_per_file": round(apps.requests / files, 2),
        "wall_s": round(wall, 2),
    }


def rebuild(
    moto_url: str,
    projects: int,
    *,
    mode: str,
    concurrency: int = 10,
    batch_size: int = 10,
    timeout: float = 3600,
) -> dict[str, Any]:
    """A full rebuild of ``projects`` projects (3 files each): ``rebuild_all`` in one
    process (``events`` mode: what one invocation does today) or fanned out over the queue."""
    name = f"rebuild-{mode}-{projects}"
    client = seed.seed_client(moto_url)
    seed.create_bucket(client, name)
    seed.seed_projects(client, name, projects)
    settings = config.Settings(bucket=name, s3_endpoint_url=moto_url)
    apps = Apps(settings)
    bucket = Bucket(seed.seed_client(moto_url), name)
    expected = {seed.project_name(i) for i in range(projects)}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    if mode == "events":
        apps.get().rebuild_all()
    else:
        from serverless_pypi.reindex import fanout

        def fan_out(sqs: Any, url: str) -> None:
            app = ReindexApp(settings, queue=fanout.SqsQueue(sqs, url))
            apps.counters.append(RequestCounter(app.bucket.client))
            out["fanout"] = app.handle({"reindex": "*"})

        out.update(
            _drain_queue(
                apps,
                moto_url,
                name,
                fan_out,
                lambda: expected <= root_names(bucket),
                concurrency=concurrency,
                batch_size=batch_size,
                window=0.5,
                timeout=timeout,
            )
        )
    wall = time.perf_counter() - t0
    return {
        "id": f"rebuild_{mode}_{projects}",
        "kind": "rebuild",
        "mode": mode,
        "projects": projects,
        **out,
        "projects_missing": len(expected - root_names(bucket)),
        "s3_requests_per_project": round(apps.requests / projects, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - cpu0, 2),
    }


COLUMNS = {
    "storm": (
        "mode", "projects", "concurrency", "batch_size", "invocations", "failed_invocations",
        "failed_messages", "dead_letters", "projects_missing", "s3_requests_per_file",
        "after_last_event_s", "wall_s",
    ),
    "burst": (
        "mode", "files", "existing", "concurrency", "batch_size", "invocations",
        "failed_invocations", "files_missing", "page_renders", "renders_per_100_files",
        "cpu_ms_per_file", "s3_requests_per_file", "wall_s",
    ),
    "rebuild": (
        "mode", "projects", "invocations", "failed_messages", "projects_missing",
        "s3_requests_per_project", "wall_s", "cpu_s",
    ),
}  # fmt: skip
TITLES = {
    "storm": "Storm: new projects at once (events: one SNS event per invocation; queue: batches)",
    "burst": "Burst: new files into one large project",
    "rebuild": "Full rebuild (events: rebuild_all in one invocation; queue: fanned out)",
}


def markdown(cases: list[dict[str, Any]]) -> list[str]:
    """A table per kind of queue case present in ``cases``."""
    out: list[str] = []
    for kind, columns in COLUMNS.items():
        rows = [c for c in cases if c.get("kind") == kind]
        if not rows:
            continue
        out += ["", f"## {TITLES[kind]}", "", "| " + " | ".join(columns) + " |"]
        out.append("|" + "---|" * len(columns))
        out += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return out
