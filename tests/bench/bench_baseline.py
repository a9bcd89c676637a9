"""The baseline: what evaluateEmailLogging does, without GraphQL.

A bare Starlette route that takes the email as JSON, authenticates the bearer token as
the service does (``tenancy.tokens.authenticate``), decides with the same lookup and
decision functions (``tenancy.decisions.evaluate``), and answers the same JSON as the
GraphQL query of the benchmark. It is served as ``neverlog serve`` serves the API
(``api.cli.serve_app``: the same uvicorn settings, one process, the same database):

    python -m tests.bench.bench_baseline --port 8001
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.cli import serve_app
from api.settings import Settings
from policy import Channel, Decision, Email, OriginalEmail
from tenancy.decisions import evaluate
from tenancy.tokens import authenticate

JSON = "application/json"


def email_of(given: dict[str, Any]) -> Email:
    original = given.get("inReplyTo")
    return Email(
        channel=Channel(given["channel"]),
        to=tuple(given["to"]),
        cc=tuple(given.get("cc") or ()),
        bcc=tuple(given.get("bcc") or ()),
        log_to_crm=given.get("logToCrm", True),
        create_new_contacts=given.get("createNewContacts", True),
        excluded_recipients=tuple(given.get("excludedRecipients") or ()),
        existing_contacts=tuple(given.get("existingContacts") or ()),
        in_reply_to=None
        if original is None
        else OriginalEmail(
            tuple(original["to"]), tuple(original.get("cc") or ()), tuple(original.get("bcc") or ())
        ),
    )


def decision_json(decision: Decision) -> dict[str, Any]:
    """The decision as the benchmark's GraphQL query selects it, in the same order."""
    return {
        "channel": decision.channel.value,
        "neverLogApplies": decision.never_log_applies,
        "emailSent": decision.email_sent,
        "loggedCount": decision.logged_count,
        "neverLogCount": decision.never_log_count,
        "recipients": [
            {
                "address": r.address,
                "field": r.field.value,
                "outcome": r.outcome.value,
                "loggedToContact": r.logged_to_contact,
                "contactCreated": r.contact_created,
                "timelineTracking": r.timeline_tracking,
                "associatedRecordsLogged": r.associated_records_logged,
                "activityFeedTracking": r.activity_feed_tracking,
                "matchedPattern": r.matched_pattern,
                "matchedScope": r.matched_scope.value if r.matched_scope else None,
                "explanation": r.explanation,
            }
            for r in decision.recipients
        ],
    }


def create_baseline_app(settings: Settings) -> Starlette:
    db = settings.database()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await db.dispose()

    async def evaluate_email(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        viewer = (
            await authenticate(db, token.strip())
            if scheme.lower() == "bearer" and token.strip()
            else None
        )
        if viewer is None:
            return Response(b'{"errors":[{"message":"Sign in first."}]}', 401, media_type=JSON)
        decided = await evaluate(
            db, viewer, email_of(orjson.loads(await request.body())), sender_id=None
        )
        body = {"data": {"evaluateEmailLogging": decision_json(decided.decision)}}
        return Response(orjson.dumps(body), media_type=JSON)

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    app = Starlette(
        routes=[Route("/evaluate", evaluate_email, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )
    app.state.db = db
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    settings = Settings()
    serve_app(create_baseline_app(settings), settings, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
