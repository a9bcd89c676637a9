"""The GraphQL client example of docs/api.md, run as a user would run it, against a real server:
once as its own process, then (the same script, the same way as ``python`` runs it) in this
process, which costs no interpreter start."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.live_server import REPO, LiveServer, free_port, live_server

pytest.importorskip("gql.transport.httpx", reason="gql[httpx] is not installed: make install")

EXAMPLE = REPO / "examples" / "gql_client.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: each test makes an account of its own."""
    with live_server(tmp_path_factory.mktemp("client-example")) as running:
        yield running


def run_example(server: LiveServer, token: str) -> list[str]:
    env = {**os.environ, "NEVERLOG_URL": f"{server.url}/graphql", "NEVERLOG_TOKEN": token}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@dataclass(frozen=True)
class Ran:
    """How the example ended: its exit status, what it printed and wrote to stderr."""

    returncode: int
    stdout: str
    stderr: str


def run_here(
    url: str, token: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Ran:
    """The example as ``python examples/gql_client.py`` runs it (as ``__main__``), in this
    process: ``sys.exit(message)`` is exit status 1 with the message on stderr, as the
    interpreter makes it; any other exception fails the test (a traceback)."""
    monkeypatch.setenv("NEVERLOG_URL", url)
    monkeypatch.setenv("NEVERLOG_TOKEN", token)
    capsys.readouterr()
    returncode = 0
    try:
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
            returncode = 1
        else:
            returncode = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return Ran(returncode=returncode, stdout=out, stderr=err)


def test_the_docs_show_the_example_as_it_is() -> None:
    readme = (REPO / "docs" / "api.md").read_text()
    section = readme.split("## Using a GraphQL client", 1)[1].split("\n## ", 1)[0]
    assert f"```python\n{EXAMPLE.read_text()}```" in section, (
        "docs/api.md's 'Using a GraphQL client' shows another script than examples/gql_client.py"
    )


def test_the_example_signs_in_adds_patterns_and_decides(
    server: LiveServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    account = server.create_account("Acme", "admin@acme-corp.com")

    # when it runs as its own process, then again
    first = run_example(server, account["token"])
    again = run_here(f"{server.url}/graphql", account["token"], capsys, monkeypatch)
    assert again.returncode == 0, again.stderr
    second = again.stdout.splitlines()

    # then
    assert first[0] == "Signed in as admin@acme-corp.com (SUPER_ADMIN) of Acme"
    assert first[1] == (
        "Added ['*@lawfirm.com', '*@*.hospital.org'], already listed []: 2 of 500 entries"
    )
    assert second[1] == (
        "Added [], already listed ['*@lawfirm.com', '*@*.hospital.org']: 2 of 500 entries"
    )
    assert (
        first[2:]
        == second[2:]
        == [
            "jane@lawfirm.com: NEVER_LOG: Not logged: jane@lawfirm.com matches *@lawfirm.com "
            "on the account-wide never-log list.",
            "bob@customer.com: LOGGED: Logged: bob@customer.com matches no never-log entry, "
            "so the email is logged to a new contact created for it.",
            "dr.who@er.hospital.org: NEVER_LOG: Not logged: dr.who@er.hospital.org matches "
            "*@*.hospital.org on the account-wide never-log list.",
        ]
    )
    listed = httpx.post(
        f"{server.url}/graphql",
        json={"query": "{ neverLogList(scope: ACCOUNT) { csv } }"},
        headers={"Authorization": f"Bearer {account['token']}"},
        timeout=10,
    ).json()
    patterns = [
        line.split(",")[0] for line in listed["data"]["neverLogList"]["csv"].splitlines()[1:]
    ]
    assert sorted(patterns) == ["*@*.hospital.org", "*@lawfirm.com"]


def test_the_example_says_in_one_line_when_the_token_or_the_url_is_wrong(
    server: LiveServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = server.create_account("Acme", "admin@acme-corp.com")["token"]
    wrong_token = token[:-4] + ("0000" if not token.endswith("0000") else "1111")

    # when
    refused = run_here(f"{server.url}/graphql", wrong_token, capsys, monkeypatch)
    nowhere = run_here(f"http://127.0.0.1:{free_port()}/graphql", token, capsys, monkeypatch)
    elsewhere = run_here(f"{server.url}/healthz/nothing", token, capsys, monkeypatch)

    # then each ends with one line that names what is wrong, and no traceback
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"gql_client: the token is not accepted by {server.url}/graphql: check NEVERLOG_TOKEN"
    ]
    assert nowhere.returncode == 1
    assert len(nowhere.stderr.splitlines()) == 1
    assert nowhere.stderr.startswith("gql_client: cannot reach http://127.0.0.1:")
    assert elsewhere.returncode == 1
    assert elsewhere.stderr.splitlines() == [
        f"gql_client: {server.url}/healthz/nothing answered HTTP 404: is it a Never Log /graphql URL?"
    ]
