"""Counting S3 requests and timing handler calls.

CPU is ``time.thread_time()`` of the calling thread around the handler call: botocore makes
its requests on that thread, and moto runs in another process, so the number is the handler's
own work (what a Lambda is billed for, less the time spent waiting on S3).
"""

from __future__ import annotations

import gc
import logging
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from serverless_pypi import logs


class RequestCounter:
    """Counts S3 API calls made through one botocore client (``before-call.s3``)."""

    def __init__(self, client: Any) -> None:
        self.by_operation: Counter[str] = Counter()
        client.meta.events.register("before-call.s3", self._seen)

    def _seen(self, model: Any = None, **_: Any) -> None:
        self.by_operation[getattr(model, "name", "?")] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def reset(self) -> None:
        self.by_operation.clear()


def quiet_json_logs(level: str = "INFO") -> None:
    """Log as the Lambda does (JSON lines at INFO), but into /dev/null: formatting is part of
    a request's cost, printing it here is not."""
    logger = logs.setup(level)
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process


@dataclass(slots=True)
class Samples:
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    operations: Counter[str] = field(default_factory=Counter)
    base_cpu_ms: list[float] = field(default_factory=list)
    base_wall_ms: list[float] = field(default_factory=list)
    last_result: Any = None

    def summary(self) -> dict[str, Any]:
        runs = len(self.cpu_ms)
        cpu = statistics.median(self.cpu_ms)
        wall = statistics.median(self.wall_ms)
        base_cpu = statistics.median(self.base_cpu_ms)
        base_wall = statistics.median(self.base_wall_ms)
        return {
            "runs": runs,
            "cpu_ms": round(cpu, 3),
            "cpu_ms_p25": round(_quantile(self.cpu_ms, 0.25), 3),
            "cpu_ms_p75": round(_quantile(self.cpu_ms, 0.75), 3),
            "wall_ms": round(wall, 3),
            "s3_requests": statistics.median(self.requests),
            "s3_requests_min": min(self.requests),
            "s3_requests_max": max(self.requests),
            "s3_operations": {k: v / runs for k, v in sorted(self.operations.items())},
            "getobject_cpu_ms": round(base_cpu, 3),
            "getobject_wall_ms": round(base_wall, 3),
            "cpu_ratio": round(cpu / base_cpu, 2) if base_cpu else None,
            "wall_ratio": round(wall / base_wall, 2) if base_wall else None,
        }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU ms, wall ms, result) of one call."""
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    result = fn()
    wall1, cpu1 = time.perf_counter(), time.thread_time()
    return (cpu1 - cpu0) * 1000, (wall1 - wall0) * 1000, result


def measure(
    call: Callable[[], Any],
    *,
    counter: RequestCounter,
    baseline: Callable[[], Any],
    runs: int,
    warmup: int,
    prepare: Callable[[int], None] | None = None,
) -> Samples:
    """Run ``call`` ``warmup + runs`` times, each run next to one baseline GetObject.

    ``prepare(i)`` runs before call ``i`` (untimed, uncounted): e.g. upload the file an event
    names. The baseline runs interleaved with the case, so both see the same machine noise.
    """
    samples = Samples()
    for i in range(warmup + runs):
        if prepare is not None:
            prepare(i)
        gc.collect()
        base_cpu, base_wall, _ = timed(baseline)
        counter.reset()
        cpu, wall, result = timed(call)
        if i < warmup:
            continue
        samples.cpu_ms.append(cpu)
        samples.wall_ms.append(wall)
        samples.requests.append(counter.total)
        samples.operations.update(counter.by_operation)
        samples.base_cpu_ms.append(base_cpu)
        samples.base_wall_ms.append(base_wall)
        samples.last_result = result
    counter.reset()
    return samples
