"""Project status end to end: ``serverless-pypi status`` on the bucket of ``serverless-pypi
serve``, the S3 event reindexes it, and real pip, uv and twine meet the result."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.clients import INSTALLERS, installed_version, new_venv, twine
from support.dists import wheel_bytes, wheel_filename, write
from support.localserver import LocalIndex, wait_for
from test_e2e_cli import command


def project_status(index: LocalIndex, project: str) -> Any:
    page = index.get_json(f"{project}/")
    return None if page is None else page.get("project-status")


def set_status(index: LocalIndex, project: str, *args: str) -> None:
    result = command(index, "status", project, *args)
    assert result.returncode == 0, result.stderr
    expected = None if args[0] == "active" else args[0]
    wait_for(
        lambda: (project_status(index, project) or {}).get("status") == expected,
        what=f"{project} {args[0]}",
    )


def file_status(index: LocalIndex, project: str, filename: str) -> int:
    url = index.index_url.removesuffix("simple/") + f"files/{project}/{filename}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
def test_quarantine_refuses_installs_until_active(
    index: LocalIndex, tmp_path: Path, installer: str
) -> None:
    project = f"st-q-{installer}"
    filename = wheel_filename(project, "1.0")
    index.publish(f"{project}/{filename}", wheel_bytes(project, "1.0"))
    install = INSTALLERS[installer]
    before = new_venv(tmp_path, "before")
    install(index, tmp_path, before, project)

    set_status(index, project, "quarantined", "--reason", "malware found")
    page = index.get_json(f"{project}/")
    assert page["meta"]["api-version"] == "1.4" and page["files"] == []
    assert project_status(index, project) == {"status": "quarantined", "reason": "malware found"}
    # A lock file's URL is refused too (once the API's few seconds of trust in its last read
    # of the marker are over).
    wait_for(lambda: file_status(index, project, filename) == 404, what="file URL refused")
    refused = install(index, tmp_path, new_venv(tmp_path, "refused"), project, check=False)
    assert refused.returncode != 0
    assert installer == "uv" or "No matching distribution" in refused.stdout + refused.stderr

    set_status(index, project, "active")
    wait_for(lambda: file_status(index, project, filename) == 302, what="file URL served")
    after = new_venv(tmp_path, "after")
    install(index, tmp_path, after, project)
    assert installed_version(after, project.replace("-", "_")) == "1.0"


def test_archived_refuses_uploads_from_twine_and_the_cli(index: LocalIndex, tmp_path: Path) -> None:
    project = "st-arch"
    index.publish(f"{project}/{wheel_filename(project, '1.0')}", wheel_bytes(project, "1.0"))
    set_status(index, project, "archived", "--reason", "read only now")
    newer = write(tmp_path, wheel_filename(project, "1.1"), wheel_bytes(project, "1.1"))

    code, output = twine(index, tmp_path, newer)
    assert code != 0 and "403" in output and "archived" in output, output
    cli = command(index, "upload", str(newer))
    assert cli.returncode == 1 and "archived (read only now)" in cli.stderr, cli.stderr
    listed = index.s3().list_objects_v2(Bucket=index.bucket, Prefix=f"{project}/")
    assert [o["Key"] for o in listed["Contents"]] == [f"{project}/{wheel_filename(project, '1.0')}"]
    # Archived files are still served: installs work.
    assert file_status(index, project, wheel_filename(project, "1.0")) == 302

    set_status(index, project, "active")
    code, output = twine(index, tmp_path, newer)
    assert code == 0, output
    wait_for(lambda: newer.name in index.project_files(project), what="upload indexed")

    # The audit trail: the refusal and the acceptance through the API, and what the reindexer
    # observed, each one JSON line with an event; never the password twine sent.
    lines = [json.loads(line) for line in index.output if line.startswith("{")]
    audit = [line for line in lines if "event" in line and line.get("project") == project]
    refused = [a for a in audit if a["event"] == "upload.refused"]
    accepted = [a for a in audit if a["event"] == "upload.accepted"]
    assert refused and refused[0]["status"] == 403 and refused[0]["file"] == newer.name
    assert accepted and accepted[-1]["sha256"] == refused[0]["sha256"]
    events = {a["event"] for a in audit}
    assert {"file.added", "project.status"} <= events
    assert "secret" not in index.log_text() and "X-Amz-Signature" not in index.log_text()


def test_status_command_shows_and_refuses_bad_input(index: LocalIndex) -> None:
    shown = command(index, "status", "St_Show")
    assert shown.returncode == 0 and shown.stdout.strip() == "st-show: active"
    assert command(index, "status", "st-show", "haunted").returncode == 2
    assert command(index, "status", "not a name!", "archived").returncode == 2
    too_long = command(index, "status", "st-show", "archived", "--reason", "x" * 1001)
    assert too_long.returncode == 2 and "longer than" in too_long.stderr
    # A project without files yet can be given a status (a name reserved, say): it has no page.
    set_to = command(index, "status", "st-show", "deprecated", "--reason", "use st-new")
    assert set_to.returncode == 0 and "no files in bucket" in set_to.stdout
    shown = command(index, "status", "st-show")
    assert shown.stdout.strip() == "st-show: deprecated (use st-new)"
