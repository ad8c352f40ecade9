#!/usr/bin/env python3
"""Build the Lambda function zip and the dependency layer zip, deterministically.

Stdlib only: the Terraform module runs this at apply time on the user's machine, where only
``python3`` (with pip, for the layer) is assumed. Same inputs give byte-identical zips (sorted
entries, fixed timestamps and modes, no bytecode), so hashes are stable across machines and runs.

    python3 src/lambda_build.py --out build                      # both zips, default arch
    python3 src/lambda_build.py --function-zip f.zip --layer-zip l.zip --arch x86_64
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE / "serverless_pypi"

#: Runtime dependencies of the command line alone (never imported by a Lambda handler, see
#: tests/cli/test_cli_boundary.py), so never in the layer.
CLI_ONLY_REQUIREMENTS = frozenset({"tqdm"})

#: The layer's contents, pinned in full (transitive dependencies too) so that a rebuild on another
#: day or machine gives the same zip. The Terraform module hashes this file, so a change here
#: rebuilds and redeploys the layer.
LAYER_REQUIREMENTS = (
    "boto3==1.44.5",
    "botocore==1.44.5",
    "cffi==2.1.1",
    "cryptography==50.0.2",
    "comrak==0.0.16",
    "docutils==0.23",
    "jinja2==3.1.6",
    "jmespath==1.1.0",
    "markupsafe==3.0.4",
    "nh3==0.3.8",
    "packaging==26.3",
    "pycparser==3.12",
    "pyjwt==2.15.1",
    "pygments==2.21.0",
    "python-dateutil==2.9.0.post0",
    "readme-renderer==46.0",
    "s3transfer==0.19.3",
    "six==1.17.0",
    "urllib3==2.8.0",
)

#: pip platform tags per Lambda architecture (Lambda's python3.12+ runtimes run glibc 2.34).
PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def _included(relative: Path) -> bool:
    """Leave out bytecode and pip's console scripts (their shebang names the build machine)."""
    if "__pycache__" in relative.parts[:-1] or relative.parts[0] == "bin":
        return False
    return not relative.name.endswith(SKIPPED_SUFFIXES)


def _walk(root: Path, prefix: str) -> Iterable[tuple[str, Path]]:
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and _included(relative):
            yield f"{prefix}{relative.as_posix()}", path


def write_zip(entries: Iterable[tuple[str, Path]], out: Path) -> str:
    """Write ``(archive name, file)`` pairs to ``out`` reproducibly; return the zip's sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: two module instances may build into the same folder at once.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
            info.create_system = 3  # unix, so the mode above is honoured everywhere
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    os.replace(tmp, out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def build_function(out: Path, package_dir: Path = PACKAGE_DIR) -> str:
    """Zip the ``serverless_pypi`` package at the archive root, as the handler path expects."""
    return write_zip(_walk(package_dir, f"{package_dir.name}/"), out)


def _stamp(requirements: Sequence[str], arch: str, python_version: str) -> str:
    inputs = {"requirements": list(requirements), "arch": arch, "python": python_version}
    return json.dumps(inputs, sort_keys=True)


def build_layer(
    out: Path, arch: str, python_version: str, requirements: Sequence[str] = LAYER_REQUIREMENTS
) -> str:
    """pip-install ``requirements`` for Lambda's platform into ``python/`` and zip it.

    Skips the download when ``out`` was already built from the same inputs (a sidecar stamp
    records them): apply runs this every time the module's inputs change, and the layer is the
    slow part.
    """
    stamp_file = out.with_name(out.name + ".inputs")
    stamp = _stamp(requirements, arch, python_version)
    if out.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return hashlib.sha256(out.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="layer-") as tmp:
        target = Path(tmp) / "python"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
        command += ["--no-warn-conflicts", "--only-binary=:all:", "--implementation=cp"]
        command += [f"--python-version={python_version}", f"--target={target}"]
        command += [f"--platform={platform}" for platform in PLATFORMS[arch]]
        # Environment, not flags: older pips reject flags they do not know.
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore"}
        subprocess.run([*command, *requirements], check=True, env=env)
        digest = write_zip(_walk(target, "python/"), out)
    stamp_file.write_text(stamp)
    return digest


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build"), help="default output folder")
    parser.add_argument("--function-zip", type=Path, help="default: OUT/function.zip")
    parser.add_argument("--layer-zip", type=Path, help="default: OUT/layer-pyVER-ARCH.zip")
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--python-version", default="3.13", help="Lambda runtime's version")
    parser.add_argument(
        "--requirement",
        action="append",
        dest="requirements",
        help="layer requirement (repeatable); default: the pinned set in this file",
    )
    parser.add_argument("--only", choices=("function", "layer"), help="build just one zip")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    function_zip = args.function_zip or args.out / "function.zip"
    layer_zip = args.layer_zip or args.out / f"layer-py{args.python_version}-{args.arch}.zip"
    if args.only != "layer":
        print(f"{function_zip}  sha256={build_function(function_zip)}")
    if args.only != "function":
        requirements = tuple(args.requirements or LAYER_REQUIREMENTS)
        digest = build_layer(layer_zip, args.arch, args.python_version, requirements)
        print(f"{layer_zip}  sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
