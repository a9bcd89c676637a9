"""docker/ stays consistent with the project, checked without Docker: the compose file
parses, every command it and the entrypoint run is a real ``neverlog`` subcommand, and the
image's health check asks a route the app serves."""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.routing import Route

from api.app import create_app
from api.settings import Settings
from tests.live_server import REPO, run_cli_here

DOCKER = REPO / "docker"
DOCKERFILE = (DOCKER / "Dockerfile").read_text()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def entrypoint_commands(tmp_path: Path, *args: str) -> list[list[str]]:
    """The ``neverlog`` command lines that docker/entrypoint.sh runs, with ``args``: it runs
    under sh with a stand-in ``neverlog`` on PATH that writes down how it was called."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "neverlog"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "neverlog $*" >> "{log}"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), *args], env=env, check=True, timeout=30)
    return [shlex.split(line) for line in log.read_text().splitlines()]


def compose_commands() -> list[list[str]]:
    return [
        service["command"] for service in compose()["services"].values() if "command" in service
    ]


@functools.cache
def subcommand_help(subcommand: str) -> str:
    """``neverlog <subcommand> --help``: its help, which names every option (the command's
    own ``main``, run in this process: no interpreter start per subcommand)."""
    try:
        return run_cli_here({}, subcommand, "--help")
    except AssertionError as failed:
        raise AssertionError(f"neverlog {subcommand} is not a neverlog command: {failed}") from None


def assert_real_subcommand(command: list[str]) -> None:
    """The subcommand exists and has every option the command line gives it."""
    assert command[0] == "neverlog", command
    assert len(command) > 1, command
    help_text = subcommand_help(command[1])
    for word in command[2:]:
        if word.startswith("--"):
            assert word in help_text.split(), f"neverlog {command[1]} has no option {word}"


def test_the_entrypoint_migrates_then_serves_on_port_8000(tmp_path: Path) -> None:
    commands = entrypoint_commands(tmp_path)
    assert commands == [
        ["neverlog", "migrate"],
        ["neverlog", "serve", "--host", "0.0.0.0", "--port", "8000"],
    ]
    for command in commands:
        assert_real_subcommand(command)


def test_the_entrypoint_runs_the_command_it_is_given(tmp_path: Path) -> None:
    given = ["neverlog", "migrate", "--app-role", "neverlog_app"]
    assert entrypoint_commands(tmp_path, *given) == [given]


def test_the_compose_commands_are_neverlog_commands() -> None:
    commands = compose_commands()
    assert ["neverlog", "migrate", "--app-role", "neverlog_app"] in commands
    for command in commands:
        assert_real_subcommand(command)


def test_the_image_serves_on_the_port_it_exposes_and_checks() -> None:
    assert re.search(r"^EXPOSE 8000$", DOCKERFILE, re.MULTILINE)
    assert "pip install -c requirements.lock ." in DOCKERFILE
    assert re.search(r"^USER (?!root\b)\w+$", DOCKERFILE, re.MULTILINE), (
        "the image must not run as root"
    )


def test_the_healthcheck_asks_a_route_the_app_serves() -> None:
    healthcheck = re.search(r"^HEALTHCHECK .*?(?<!\\)$", DOCKERFILE, re.MULTILINE | re.DOTALL)
    assert healthcheck, "the Dockerfile has no HEALTHCHECK"
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", healthcheck.group(0))
    assert url, healthcheck.group(0)
    port, path = url.groups()
    assert port == "8000"
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    served = {route.path for route in app.routes if isinstance(route, Route)}
    assert path in served, (
        f"HEALTHCHECK asks {path}, which the app does not serve ({sorted(served)})"
    )


def test_compose_serves_as_the_app_role_after_migrating_as_the_owner() -> None:
    services = compose()["services"]
    db, migrate, api = services["db"], services["migrate"], services["api"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    init = [v for v in db["volumes"] if v.split(":")[1].startswith("/docker-entrypoint-initdb.d/")]
    assert len(init) == 1, db["volumes"]
    init_sql = (DOCKER / init[0].split(":")[0]).read_text()
    assert re.search(r"CREATE ROLE neverlog_app LOGIN\b", init_sql)
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    owner = db["environment"]["POSTGRES_USER"]
    assert f"://{owner}:" in migrate["environment"]["NEVERLOG_DATABASE_URL"]
    assert "://neverlog_app:" in api["environment"]["NEVERLOG_DATABASE_URL"]
    for service in (migrate, api):
        assert service["environment"]["NEVERLOG_ENVIRONMENT"] == "production"
        Settings(
            **{k.removeprefix("NEVERLOG_").lower(): v for k, v in service["environment"].items()}
        )


@pytest.mark.parametrize(
    "needed", ["pyproject.toml", "requirements.lock", "README.md", "docker/entrypoint.sh"]
)
def test_the_build_context_keeps_what_the_image_copies(needed: str) -> None:
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert needed in DOCKERFILE
    assert not any(needed == pattern or needed.startswith(f"{pattern}/") for pattern in ignored)
