"""Run ``serverless-pypi serve`` as a user would, and talk to it over real HTTP."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from packaging.utils import canonicalize_name

STARTUP_TIMEOUT = 60


@dataclass
class LocalIndex:
    process: subprocess.Popen[str]
    index_url: str
    s3_endpoint: str
    bucket: str
    output: list[str] = field(default_factory=list)
    #: With ``serve --auth``: the embedded Cognito's endpoint and user pool.
    cognito_endpoint: str = ""
    user_pool_id: str = ""
    #: (username, password) sent by the helpers below (``get_json``, ``publish``), if any.
    credentials: tuple[str, str] | None = None

    def s3(self) -> Any:
        return aws_client(self.s3_endpoint)

    def auth_headers(self) -> dict[str, str]:
        if self.credentials is None:
            return {}
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def get_json(self, path: str = "") -> Any:
        request = urllib.request.Request(
            self.index_url + path,
            headers={"Accept": "application/vnd.pypi.simple.v1+json", **self.auth_headers()},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def root_projects(self) -> list[str]:
        return [p["name"] for p in self.get_json()["projects"]]

    def project_files(self, project: str) -> dict[str, Any]:
        page = self.get_json(f"{project}/")
        return {} if page is None else {f["filename"]: f for f in page["files"]}

    def publish(self, key: str, data: bytes) -> None:
        """Drop a file into the bucket as a user would, then wait until the SNS-fed reindex
        lists it with its hash."""
        self.s3().put_object(Bucket=self.bucket, Key=key, Body=data)
        project = canonicalize_name(key.split("/")[0])
        filename = key.rsplit("/", 1)[1]

        def indexed() -> bool:
            listed = self.project_files(project).get(filename)
            return bool(listed and listed["hashes"]) and project in self.root_projects()

        wait_for(indexed, what=f"{filename} indexed")

    def log_text(self) -> str:
        return "\n".join(self.output)

    def requests(self) -> list[dict[str, Any]]:
        """The local server's JSON ``http`` log records (needs ``log_level="INFO"``)."""
        records = []
        for line in list(self.output):
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "http":
                    records.append(record)
        return records

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


def aws_client(endpoint: str, service: str = "s3") -> Any:
    """A boto3 client for the local server's AWS endpoint (S3 and SNS), S3 in path style."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


def start(*args: str, env: dict[str, str] | None = None, log_level: str = "WARNING") -> LocalIndex:
    """Start the server and wait for its ``index:`` and ``s3:`` lines (and ``cognito:`` with
    ``--auth``)."""
    needed = {"index", "s3", "cognito"} if "--auth" in args else {"index", "s3"}
    process = subprocess.Popen(
        [*serverless_pypi_command(), "--log-level", log_level, "serve", "--port", "0", *args],
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
            elif line.startswith("cognito: "):
                match = re.match(r"cognito: (\S+) user_pool_id=(\S+)", line)
                if match:
                    found["cognito"], found["user_pool_id"] = match.groups()
            if needed <= found.keys():
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT) or needed - found.keys():
        process.kill()
        raise RuntimeError("serve did not start:\n" + "\n".join(output))
    return LocalIndex(
        process,
        found["index"],
        found["s3"],
        found["bucket"],
        output,
        cognito_endpoint=found.get("cognito", ""),
        user_pool_id=found.get("user_pool_id", ""),
    )


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
