"""The GraphQL-over-HTTP spec's own audit suite (graphql-http's ``serverAudits``, run by
tests/http_audit/audit.mjs) against a real ``neverlog serve`` process: every MUST and SHOULD
audit passes; MAY audits may warn, and are reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import SERVE, free_port, serving

ROOT = Path(__file__).resolve().parents[2]
AUDIT_DIR = ROOT / "tests" / "http_audit"
AUDIT_SECONDS = 120
NPM_CI_SECONDS = 300


@pytest.fixture
def node() -> str:
    """The node executable, with the audit's npm packages installed; skips where it cannot be
    (before any server starts)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the GraphQL-over-HTTP audit needs Node.js 18 or newer")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    if int(version.strip().lstrip("v").split(".")[0]) < 18:
        pytest.skip(
            f"node {version.strip()} has no fetch: the GraphQL-over-HTTP audit needs Node.js 18 or newer"
        )
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(
                "npm is not installed: it is needed once to install tests/http_audit's packages"
            )
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=AUDIT_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_CI_SECONDS,
        )
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    return node


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The base URL of a ``neverlog serve`` process on a fresh SQLite database, stopped
    (SIGTERM, then kill) whatever the test's outcome."""
    port = free_port()
    # The defaults, but for the database: no NEVERLOG_ setting of the caller leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEVERLOG_")}
    env["NEVERLOG_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'neverlog.db'}"
    base_url = f"http://127.0.0.1:{port}"
    command = [*SERVE, "--host", "127.0.0.1", "--port", str(port)]
    with serving(command, env=env, url=base_url, log_path=tmp_path / "serve.log"):
        yield base_url


def test_graphql_over_http_audit_passes_every_must_and_should(
    node: str, server: str, pytestconfig: pytest.Config
) -> None:
    # given a server and the audit's packages
    # when the whole suite runs against the server
    run = subprocess.run(
        [node, "audit.mjs", f"{server}/graphql"],
        cwd=AUDIT_DIR,
        capture_output=True,
        text=True,
        timeout=AUDIT_SECONDS,
    )
    # then (the audit's lines are shown where the test fails, or with -rP)
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode in (0, 1), f"the audit could not run:\n{run.stdout}\n{run.stderr}"
    summary: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["total"] > 0
    failures = {r["id"]: r["reason"] for r in summary["results"] if r["verdict"] == "error"}
    assert summary["failed"]["MUST"] == [], failures
    assert summary["failed"]["SHOULD"] == [], failures
    assert run.returncode == 0
    if summary["failed"]["MAY"]:
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"GraphQL-over-HTTP audit: {summary['ok']}/{summary['total']} ok; "
                f"MAY audits that warn: {', '.join(summary['failed']['MAY'])}"
            )
