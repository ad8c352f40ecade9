import pytest

from serverless_pypi import names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("My_Pkg", "my-pkg"),
        ("my.pkg", "my-pkg"),
        ("MY--PKG", "my-pkg"),
        ("a", "a"),
        ("a1", "a1"),
        ("_private", None),
        ("-dash", None),
        ("trailing.", None),
        ("sp ace", None),
        ("ünïcode", None),
        ("", None),
        ("a" * 201, None),
        (".index", None),
    ],
)
def test_canonical(name: str, expected: str | None) -> None:
    assert names.canonical(name) == expected


@pytest.mark.parametrize(
    ("filename", "project", "kind"),
    [
        ("my_pkg-1.0-py3-none-any.whl", "my-pkg", "bdist_wheel"),
        ("my_pkg-1.0+local.1-py3-none-any.whl", "my-pkg", "bdist_wheel"),
        ("my_pkg-1.0.tar.gz", "my-pkg", "sdist"),
        ("my_pkg-1.0.zip", "my-pkg", "sdist"),
    ],
)
def test_parse_filename_accepts_distributions(filename: str, project: str, kind: str) -> None:
    dist = names.parse_filename(filename)
    assert dist is not None
    assert (dist.project, dist.kind) == (project, kind)


@pytest.mark.parametrize(
    "filename",
    [
        "README.md",
        "my_pkg-1.0.egg",
        "my_pkg-1.0-py3-none-any.whl.metadata",
        "not-a-version-py3-none-any.whl",
        "my pkg-1.0.tar.gz",
        "my_pkg-1.0~1.tar.gz",
        ".hidden-1.0.tar.gz",
        "my_pkg-1.0\x00.tar.gz",
        "a/b-1.0.tar.gz",
        "x" * 300 + "-1.0.tar.gz",
    ],
)
def test_parse_filename_rejects_everything_else(filename: str) -> None:
    assert names.parse_filename(filename) is None


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("My_Pkg/my_pkg-1.0.tar.gz", True),
        ("my.pkg/My.Pkg-1.0.tar.gz", True),
        ("other/my_pkg-1.0.tar.gz", False),  # file of another project
        ("my-pkg/sub/my_pkg-1.0.tar.gz", False),  # nested
        ("my_pkg-1.0.tar.gz", False),  # top level
        (".index/my_pkg-1.0.tar.gz", False),
        ("../my_pkg-1.0.tar.gz", False),
        ("my-pkg/", False),
    ],
)
def test_parse_key(key: str, ok: bool) -> None:
    assert (names.parse_key(key) is not None) is ok
