"""Run the queue cases (``queue_cases``) on their own and print their rows as JSON lines.

``python tests/bench/queue_bench.py storm|burst|rebuild --mode events|queue --size N
[--existing M] [--concurrency C] [--batch-size B]``. With ``PYTHONPATH=<old checkout>/src``
the ``events`` mode measures older code (e.g. 7be780b) against the same harness.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from moto_proc import FAKE_AWS_ENV, MotoServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=("storm", "burst", "rebuild"))
    parser.add_argument("--mode", choices=("events", "queue"), default="queue")
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--existing", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    os.environ.update(FAKE_AWS_ENV)

    import queue_cases
    from timing import quiet_json_logs

    quiet_json_logs()
    with MotoServer() as moto:
        delivery = queue_cases.Delivery(args.mode, args.concurrency, args.batch_size)
        if args.case == "storm":
            row = queue_cases.storm(moto.url, args.size, delivery)
        elif args.case == "burst":
            row = queue_cases.burst(moto.url, args.size, args.existing, delivery)
        else:
            row = queue_cases.rebuild(moto.url, args.size, mode=args.mode)
        row["moto_cpu_s"] = round(moto.cpu_seconds(), 1)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
