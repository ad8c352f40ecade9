"""archive.inspect stays within its bounds on hostile files and still reads real-sized ones.

The hostile files are those of issue 11 (700,000 empty members, a 4 GiB member before PKG-INFO,
a huge central directory, a METADATA zip bomb); outcomes are asserted, never timings.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile

import pytest
from bench import hostile

from serverless_pypi import archive

SDIST = "pkg-1.0.tar.gz"
WHEEL = "pkg-1.0-py3-none-any.whl"
PKG_INFO = hostile.PKG_INFO


def facts(data: bytes, filename: str) -> archive.Facts:
    return archive.inspect(io.BytesIO(data), filename)


def assert_refused(result: archive.Facts, data: bytes, problem: str) -> None:
    """Past a bound: the problem names it, the hash is whole, nothing else is derived."""
    assert result.problem == problem
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert (result.name, result.version, result.requires_python, result.metadata) == (None,) * 4


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=fmt) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def regular(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def of_type(name: str, kind: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "elsewhere" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
    return info, b""


def tarfile_pkg_info(data: bytes) -> bytes | None:
    """What ``tarfile`` finds: the reference the bounded reader must agree with."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            name = member.name
            if member.isfile() and name.count("/") == 1 and name.endswith("/PKG-INFO"):
                extracted = tar.extractfile(member)
                return extracted.read() if extracted else None
    return None


# -- the inputs ------------------------------------------------------------------------


def test_seven_hundred_thousand_empty_members_are_refused() -> None:
    data = hostile.tar_many_members(700_000)
    limit = f"{archive.MAX_SDIST_MEMBERS:,}"
    assert_refused(facts(data, SDIST), data, f"sdist has more than {limit} members before PKG-INFO")


def test_gigabytes_before_pkg_info_are_refused() -> None:
    data = hostile.tar_bomb(4096 * 1024 * 1024)
    expected = (
        f"sdist inflates more than {archive.MAX_INFLATE_RATIO}x past 16 MiB before PKG-INFO "
        "(a compression bomb)"
    )
    assert_refused(facts(data, SDIST), data, expected)


def test_an_incompressible_sdist_is_bounded_by_size_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random bytes do not compress, so the ratio never stops them: the size bound does."""
    import random

    monkeypatch.setattr(archive, "INFLATED_ALLOWANCE", 256 * 1024)
    monkeypatch.setattr(archive, "MAX_SDIST_INFLATED", 1024 * 1024)
    noise = random.Random(7).randbytes(512 * 1024)
    fits = tar_gz([regular("pkg-1.0/a.bin", noise), regular("pkg-1.0/PKG-INFO", PKG_INFO)])
    assert facts(fits, SDIST).problem is None
    big = tar_gz([regular("pkg-1.0/a.bin", noise * 3), regular("pkg-1.0/PKG-INFO", PKG_INFO)])
    assert_refused(facts(big, SDIST), big, "sdist has more than 1 MiB decompressed before PKG-INFO")


def test_huge_central_directory_is_refused() -> None:
    data = hostile.zip_many_entries(archive.MAX_WHEEL_ENTRIES + 1)  # its end record says 65,535
    expected = f"zip has more than {archive.MAX_WHEEL_ENTRIES:,} entries"
    assert_refused(facts(data, WHEEL), data, expected)


def test_entry_count_is_read_from_the_end_record_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_WHEEL_ENTRIES", 50)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(51):
            z.writestr(f"pkg/m{i}.py", b"")
    assert_refused(
        facts(buffer.getvalue(), WHEEL), buffer.getvalue(), "zip has more than 50 entries"
    )


def test_metadata_zip_bomb_reads_only_the_bound() -> None:
    result = facts(hostile.zip_metadata_bomb(4096 * 1024 * 1024), WHEEL)
    assert result.problem == "METADATA is too large to offer"
    assert result.requires_python == ">=3.9"
    assert result.metadata is None


# -- real-sized packages still pass ------------------------------------------------------------


def test_sdist_of_five_thousand_files_with_pkg_info_last() -> None:
    result = facts(hostile.real_sdist(5_000), SDIST)
    assert result.problem is None
    assert (result.name, str(result.version), result.requires_python) == ("pkg", "1.0", ">=3.9")


def test_wheel_of_twenty_thousand_entries() -> None:
    data = hostile.real_wheel(20_000)
    result = facts(data, WHEEL)
    assert result.problem is None
    assert result.metadata == PKG_INFO


def test_wheel_at_the_entry_bound_passes() -> None:
    result = facts(hostile.zip_many_entries(archive.MAX_WHEEL_ENTRIES), WHEEL)
    assert result.problem is None
    assert result.metadata == PKG_INFO


# -- the bounds are exact ----------------------------------------------------------------------


def test_member_bound_counts_pkg_info_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_SDIST_MEMBERS", 10)
    files = [regular(f"pkg-1.0/f{i}.py") for i in range(9)]
    assert facts(tar_gz([*files, regular("pkg-1.0/PKG-INFO", PKG_INFO)]), SDIST).problem is None
    data = tar_gz([*files, regular("pkg-1.0/extra.py"), regular("pkg-1.0/PKG-INFO", PKG_INFO)])
    assert_refused(facts(data, SDIST), data, "sdist has more than 10 members before PKG-INFO")


def test_inflated_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_SDIST_INFLATED", 2 * 1024 * 1024)
    small = tar_gz(
        [regular("pkg-1.0/a.bin", bytes(1024 * 1024)), regular("pkg-1.0/PKG-INFO", PKG_INFO)]
    )
    assert facts(small, SDIST).problem is None
    big = tar_gz(
        [regular("pkg-1.0/a.bin", bytes(3 * 1024 * 1024)), regular("pkg-1.0/PKG-INFO", PKG_INFO)]
    )
    expected = "sdist has more than 2 MiB decompressed before PKG-INFO"
    assert_refused(facts(big, SDIST), big, expected)


def test_pkg_info_early_is_found_whatever_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    """setuptools writes PKG-INFO near the start: nothing after it is read."""
    monkeypatch.setattr(archive, "MAX_SDIST_MEMBERS", 5)
    data = tar_gz(
        [regular("pkg-1.0/PKG-INFO", PKG_INFO)] + [regular(f"pkg-1.0/{i}") for i in range(50)]
    )
    assert facts(data, SDIST).requires_python == ">=3.9"


# -- the bounded reader agrees with tarfile ----------------------------------------------------

LONG = "pkg-1.0/" + "d" * 120 + "/PKG-INFO"


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize(
    "members",
    [
        [regular("pkg-1.0/setup.py"), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [regular("pkg-1.0/PKG-INFO", PKG_INFO), regular("other-2.0/PKG-INFO", b"Name: other\n\n")],
        [regular("pkg-1.0/src/PKG-INFO", b"Name: deep\n\n"), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [of_type("pkg-1.0/PKG-INFO", tarfile.DIRTYPE), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [of_type("pkg-1.0/PKG-INFO", tarfile.SYMTYPE), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [regular("pkg-1.0/" + "x" * 150 + ".py"), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [regular("pkg-1.0/" + "y" * 90 + "/" + "z" * 60), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [regular(LONG, b"Name: long\n\n"), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [regular("p" * 130 + "/PKG-INFO", PKG_INFO)],
        [regular("pkg-1.0/caf\u00e9.py"), regular("pkg-1.0/PKG-INFO", PKG_INFO)],
        [regular("pkg-1.0/setup.py")],
    ],
)
def test_same_pkg_info_as_tarfile(fmt: int, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    try:
        data = tar_gz(members, fmt)
    except ValueError:  # a name this format cannot hold: tarfile cannot write it either
        assert fmt != tarfile.PAX_FORMAT  # pax holds every name
        return
    expected = tarfile_pkg_info(data)
    result = facts(data, SDIST)
    if expected is None:
        assert result.problem == "sdist has no PKG-INFO"
    else:
        assert result.problem is None
        assert result.name == archive._headers(expected).get("Name")


def test_wheel_with_prepended_bytes_and_stored_metadata() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("pkg-1.0.dist-info/METADATA", PKG_INFO)
    data = b"#!/bin/sh\nexit 0\n" + buffer.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).read("pkg-1.0.dist-info/METADATA") == PKG_INFO
    assert facts(data, WHEEL).metadata == PKG_INFO


def test_zip64_wheel() -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("pkg-1.0.dist-info/METADATA", "w", force_zip64=True) as member,
    ):
        member.write(PKG_INFO)
    assert facts(buffer.getvalue(), WHEEL).metadata == PKG_INFO


def test_zip_sdist_first_pkg_info() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg-1.0/src/PKG-INFO", b"Name: deep\n\n")
        z.writestr("pkg-1.0/PKG-INFO", PKG_INFO)
    assert facts(buffer.getvalue(), "pkg-1.0.zip").requires_python == ">=3.9"


def test_at_the_bounds_sdists_pass() -> None:
    members = facts(hostile.tar_many_members(archive.MAX_SDIST_MEMBERS - 1), SDIST)
    assert members.problem is None and members.requires_python == ">=3.9"
    inflated = facts(hostile.tar_bomb(archive.INFLATED_ALLOWANCE - 4 * 1024 * 1024), SDIST)
    assert inflated.problem is None and inflated.requires_python == ">=3.9"


def test_cut_short_after_some_members() -> None:
    whole = tar_gz([regular(f"pkg-1.0/f{i}.py", b"x" * 3000) for i in range(20)])
    result = facts(whole[: len(whole) // 2], SDIST)
    assert result.problem is not None and "archive" in result.problem


def test_concatenated_gzip_members() -> None:
    """gzip allows several members in one file; tarfile reads them as one stream."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (("pkg-1.0/a.py", b"a" * 700), ("pkg-1.0/PKG-INFO", PKG_INFO)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    data = gzip.compress(tar_bytes[:1024]) + gzip.compress(tar_bytes[1024:])
    assert tarfile_pkg_info(data) == PKG_INFO
    assert facts(data, SDIST).requires_python == ">=3.9"


def test_pax_header_of_empty_records_ends() -> None:
    info = tarfile.TarInfo("pkg-1.0/PKG-INFO")
    info.pax_headers = {"comment": "0 x=\n" * 1000}
    data = tar_gz([(info, PKG_INFO)])
    assert facts(data, SDIST).requires_python == ">=3.9"
