"""The ``neverlog`` command: serve, migrate, create-account, invite, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from types import FrameType

from starlette.types import ASGIApp

from api.logs import configure as configure_logs
from api.server import GuardedHttpToolsProtocol, raise_open_files_limit, tune_collector
from api.settings import Settings
from schema.services import migrate


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _port_taken(host: str, port: int) -> str | None:
    """Why the server cannot listen at host:port (one line), or None if it can."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return (
                f"neverlog: cannot listen on {host}:{port} ({error.strerror}): another program "
                f"uses it; stop it, or pick another port (neverlog serve --port {port + 1}, "
                f"make run PORT={port + 1})"
            )
    return None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    taken = _port_taken(args.host, args.port)
    if taken is not None:
        print(taken, file=sys.stderr)
        return 1
    if args.workers > 1:
        # Several processes: each writes its metrics where /metrics adds them up. The
        # directory must exist, empty, before the workers start.
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="neverlog-metrics-")
        if settings.is_sqlite:
            asyncio.run(_migrate(settings, None))
        serve_app(
            "api.cli:worker_app", settings, host=args.host, port=args.port, workers=args.workers
        )
        return 0
    from api.app import create_app

    serve_app(create_app(settings), settings, host=args.host, port=args.port)
    return 0


def worker_app() -> ASGIApp:
    """The app of one worker of ``neverlog serve --workers N`` (uvicorn calls it in each)."""
    from api.app import create_app

    app = create_app()
    tune_collector()
    return app


def serve_app(
    app: ASGIApp | str, settings: Settings, *, host: str, port: int, workers: int = 1
) -> None:
    """Serve ``app`` as ``neverlog serve`` does (the benchmark serves its baseline so too)."""
    import uvicorn

    configure_logs(settings.log_level)
    # On SIGTERM uvicorn stops accepting, lets the requests in flight finish, and then sends
    # itself the signal again so that the process dies of it (status 143). A finished
    # graceful shutdown is a clean stop, so that second SIGTERM ends the process with 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Slow clients (api/server.py): every worker reads the guard's settings from here.
    os.environ["NEVERLOG_HEADER_TIMEOUT"] = str(settings.header_timeout)
    os.environ["NEVERLOG_BODY_TIMEOUT"] = str(settings.body_timeout)
    os.environ["NEVERLOG_MAX_CONNECTIONS"] = str(settings.max_connections)
    # A connection is a file descriptor: room for the cap, the pool and the files.
    raise_open_files_limit(settings.max_connections + 1_000)
    if not isinstance(app, str):
        tune_collector()  # several workers: each tunes its own (worker_app)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        loop="uvloop",
        http=GuardedHttpToolsProtocol if settings.slow_client_guard else "httptools",
        timeout_graceful_shutdown=20,
        # A WebSocket message (api/live.py) is held whole before it is read: no larger
        # than a request's body may be.
        ws_max_size=settings.max_body_bytes,
        # X-Forwarded-For only from the proxies named (uvicorn's own default trusts loopback,
        # where any local client could then pick its address); none by default.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        log_config=None,
        access_log=False,
        workers=workers,
        # A worker answers its first health check once it has imported the app (about 1.5 s
        # of CPU): uvicorn's 5 s killed and restarted workers in a loop on a busy machine,
        # and the server never came up. A hung worker is still replaced, after 30 s.
        timeout_worker_healthcheck=30,
        factory=isinstance(app, str),
    )


async def _migrate(settings: Settings, app_role: str | None) -> None:
    db = settings.database()
    try:
        await migrate(db, app_role=app_role)
    finally:
        await db.dispose()


async def _create_account(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    from schema.ids import to_global_id
    from schema.services import create_account

    db = settings.database()
    try:
        if settings.is_sqlite:
            await migrate(db)
        new = await create_account(
            db, name=args.name, admin_email=args.admin_email, admin_name=args.admin_name
        )
    finally:
        await db.dispose()
    return {
        "account_id": to_global_id("Account", new.account.id),
        "user_id": to_global_id("User", new.admin.id),
        "token": new.token.token,
    }


async def _invite(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    from policy.errors import ErrorCode, Refusal
    from schema.ids import decode_id, to_global_id
    from schema.services import invite_by_email

    account_id = decode_id(args.account, "Account")
    if account_id.int == 0:
        raise Refusal.one(
            ErrorCode.NOT_FOUND,
            f"{args.account!r} is not an account ID (the account_id that create-account printed).",
        )
    db = settings.database()
    try:
        if settings.is_sqlite:
            await migrate(db)
        new = await invite_by_email(db, account_id=account_id, email=args.email.strip())
    finally:
        await db.dispose()
    return {
        "user_id": to_global_id("User", new.invitation.user_id),
        "invitation_code": new.code,
        "expires_at": new.invitation.expires_at.isoformat(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neverlog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API at /graphql")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (each with its own pool)"
    )
    migrate = commands.add_parser("migrate", help="bring the database's schema up to date")
    migrate.add_argument(
        "--app-role",
        help="PostgreSQL: grant the role the API serves as what it needs (it must not own the "
        "tables, so that row-level security binds it)",
    )
    create = commands.add_parser(
        "create-account", help="create an account and its first super admin; print a token"
    )
    create.add_argument("name")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-name")
    invite = commands.add_parser(
        "invite",
        help="print a new one-time invitation code for a user (earlier codes stop working); "
        "the user accepts it (acceptInvitation) and holds their token themselves",
    )
    invite.add_argument("email", help="the user's address")
    invite.add_argument("--account", required=True, help="the account's ID (create-account's)")
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        from schema import build_schema

        print(build_schema().as_str())
        return 0
    settings = Settings()
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "migrate":
        asyncio.run(_migrate(settings, args.app_role))
        print("The database schema is up to date.", file=sys.stderr)
        return 0
    from policy.errors import Refusal

    command = _invite if args.command == "invite" else _create_account
    try:
        print(json.dumps(asyncio.run(command(args, settings))))
    except Refusal as refusal:
        print(f"neverlog: {refusal}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
