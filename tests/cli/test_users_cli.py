"""``serverless-pypi users``: add, list and remove against a moto server's Cognito."""

from __future__ import annotations

import argparse
import io
import uuid
from typing import Any

import boto3
import pytest

from serverless_pypi import cli
from serverless_pypi.cli import user_pool
from serverless_pypi.local.cognito import Pool, create_pool

READER_PASSWORD = "Reader-pass-1"
UPLOADER_PASSWORD = "Uploader-pass-2"


def _client(endpoint: str) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def pool(moto_server: str) -> Pool:
    """A fresh pool per test, made like ``serve --auth`` makes its own."""
    return create_pool(_client(moto_server))


def run(
    pool: Pool,
    *args: str,
    stdin: str = "",
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    command, *rest = args
    argv = [
        "users",
        command,
        *rest,
        "--user-pool-id",
        pool.user_pool_id,
        "--endpoint-url",
        pool.endpoint_url,
    ]
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def users_cli(
    pool: Pool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    def call(*args: str, stdin: str = "") -> tuple[int, str, str]:
        return run(pool, *args, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)

    return call


def sign_in(pool: Pool, name: str, password: str) -> dict[str, Any]:
    return _client(pool.endpoint_url).initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": password},
    )


def listed(users_cli: Any) -> list[list[str]]:
    code, out, err = users_cli("list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "UPLOADER", "GROUPS"]
    return [line.split() for line in lines[1:]]


def test_add_list_remove(users_cli: Any, pool: Pool) -> None:
    assert listed(users_cli) == []
    code, out, err = users_cli("add", "reader", "--password-stdin", stdin=READER_PASSWORD + "\n")
    assert (code, err) == (0, ""), err
    assert out == "added reader (reader)\n"
    code, out, err = users_cli(
        "add", "uploader", "--upload", "--password-stdin", stdin=UPLOADER_PASSWORD + "\n"
    )
    assert code == 0, err
    assert out == "added uploader (uploader)\n"
    assert listed(users_cli) == [
        ["reader", "CONFIRMED", "no", "-"],
        ["uploader", "CONFIRMED", "yes", "uploaders"],
    ]

    # Permanent passwords: both sign in at once, with no challenge.
    for name, password in (("reader", READER_PASSWORD), ("uploader", UPLOADER_PASSWORD)):
        answer = sign_in(pool, name, password)
        assert "ChallengeName" not in answer
        assert answer["AuthenticationResult"]["IdToken"]

    code, out, err = users_cli("remove", "reader")
    assert (code, out) == (0, "removed reader\n"), err
    assert listed(users_cli) == [["uploader", "CONFIRMED", "yes", "uploaders"]]
    code, _, err = users_cli("remove", "reader")
    assert code == 1
    assert "no user named 'reader'" in err


def test_upload_makes_a_member_of_the_uploaders_group(users_cli: Any, pool: Pool) -> None:
    users_cli("add", "up", "--upload", "--password-stdin", stdin=UPLOADER_PASSWORD)
    users_cli("add", "rd", "--password-stdin", stdin=READER_PASSWORD)
    client = _client(pool.endpoint_url)

    def groups(name: str) -> list[str]:
        found = client.admin_list_groups_for_user(UserPoolId=pool.user_pool_id, Username=name)
        return [g["GroupName"] for g in found["Groups"]]

    assert groups("up") == ["uploaders"]
    assert groups("rd") == []


def test_list_shows_every_group(users_cli: Any, pool: Pool) -> None:
    """Groups that upload_permissions map to projects show next to the uploaders flag."""
    users_cli("add", "alice", "--upload", "--password-stdin", stdin=UPLOADER_PASSWORD)
    client = _client(pool.endpoint_url)
    for group in ("team-b", "team-a"):
        client.create_group(UserPoolId=pool.user_pool_id, GroupName=group)
        client.admin_add_user_to_group(
            UserPoolId=pool.user_pool_id, Username="alice", GroupName=group
        )
    assert listed(users_cli) == [["alice", "CONFIRMED", "yes", "team-a,team-b,uploaders"]]


def test_password_stdin_takes_exactly_one_line(users_cli: Any, pool: Pool) -> None:
    # Only the line break is dropped: spaces are part of the password.
    password = " Spaced pass-1 "
    code, _, err = users_cli("add", "spaces", "--password-stdin", stdin=password + "\r\nnext\n")
    assert code == 0, err
    sign_in(pool, "spaces", password)
    code, _, err = users_cli("add", "nobody", "--password-stdin", stdin="")
    assert code == 2
    assert "no password on stdin" in err
    assert [row[0] for row in listed(users_cli)] == ["spaces"]


def test_prompt_asks_twice(users_cli: Any, pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([READER_PASSWORD, READER_PASSWORD, READER_PASSWORD, "Other-pass-3"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    code, _, err = users_cli("add", "prompted")
    assert code == 0, err
    assert prompts == ["Password: ", "Password (again): "]
    sign_in(pool, "prompted", READER_PASSWORD)
    code, _, err = users_cli("add", "mismatch")
    assert code == 2
    assert "do not match" in err
    assert [row[0] for row in listed(users_cli)] == ["prompted"]


@pytest.mark.parametrize(
    "option", ["--password", "-p", "--pass", "--password=" + READER_PASSWORD, "--password-std"]
)
def test_no_password_argument_exists(users_cli: Any, option: str) -> None:
    args = ["add", "argv", option] + ([] if "=" in option else [READER_PASSWORD])
    code, _, err = users_cli(*args, stdin=READER_PASSWORD)
    assert code == 2
    assert "unrecognized arguments" in err or "error" in err
    assert listed(users_cli) == []


def test_the_parser_has_no_option_that_takes_a_password() -> None:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = next(
        a for a in commands.choices["users"]._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name, sub in actions.choices.items():
        for action in sub._actions:
            for flag in action.option_strings:
                if "pass" in flag:
                    assert (name, flag, action.nargs) == ("add", "--password-stdin", 0)


def test_weak_password_is_refused_with_cognitos_message(users_cli: Any) -> None:
    code, out, err = users_cli("add", "weak", "--password-stdin", stdin="short\n")
    assert code == 1
    assert out == ""
    assert err.startswith("serverless-pypi users: password refused by the user pool: ")
    assert "password policy" in err  # moto's wording of Cognito's InvalidPasswordException
    assert "short" not in err
    assert listed(users_cli) == []  # nothing left behind half-made


def test_existing_user(users_cli: Any) -> None:
    users_cli("add", "twice", "--password-stdin", stdin=READER_PASSWORD)
    code, _, err = users_cli("add", "twice", "--password-stdin", stdin=UPLOADER_PASSWORD)
    assert code == 1
    assert "already exists" in err


def test_unknown_pool_and_bad_pool_id(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = Pool(moto_server, "us-east-1", f"us-east-1_{uuid.uuid4().hex}", "", "uploaders")
    code, _, err = run(missing, "list", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    assert err.startswith("serverless-pypi users: ResourceNotFoundException: ")
    assert "Traceback" not in err
    bad = Pool(moto_server, "us-east-1", "nounderscore", "", "uploaders")
    code, _, err = run(bad, "list", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2
    assert "not a user pool id" in err


def test_region_comes_from_the_pool_id() -> None:
    client = user_pool.make_client("eu-west-2_AbC123", "http://127.0.0.1:1")
    assert client.meta.region_name == "eu-west-2"
