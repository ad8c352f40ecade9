"""Run ``serverless-pypi serve`` as a user would, and talk to it over real HTTP."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

STARTUP_TIMEOUT = 60


@dataclass
class LocalIndex:
    process: subprocess.Popen[str]
    index_url: str
    s3_endpoint: str
    bucket: str
    output: list[str] = field(default_factory=list)

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(s3={"addressing_style": "path"}),
        )

    def log_text(self) -> str:
        return "\n".join(self.output)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def serverless_pypi_command() -> list[str]:
    script = Path(sys.executable).with_name("serverless-pypi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "serverless_pypi.cli"]


def start(*args: str, env: dict[str, str] | None = None) -> LocalIndex:
    """Start the server and wait for its ``index:`` and ``s3:`` lines."""
    process = subprocess.Popen(
        [*serverless_pypi_command(), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    output: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if line.startswith("index: "):
                found["index"] = line.split()[1]
            elif line.startswith("s3: "):
                match = re.match(r"s3: (\S+) bucket=(\S+)", line)
                if match:
                    found["s3"], found["bucket"] = match.groups()
            if {"index", "s3"} <= found.keys():
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT) or {"index", "s3"} - found.keys():
        process.kill()
        raise RuntimeError("serve did not start:\n" + "\n".join(output))
    return LocalIndex(process, found["index"], found["s3"], found["bucket"], output)


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def tool(name: str) -> str | None:
    """A client installed in the test virtualenv (from the registry), else on PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else shutil.which(name)
