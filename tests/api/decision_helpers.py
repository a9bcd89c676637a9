"""Queries and helpers for the decision tests: evaluateEmailLogging, saved simulations, and
counting the SQL statements that one request runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from persistence.database import Database
from tenancy import held_lists, touches
from tests.helpers import Api, Member, assert_no_user_errors

RECIPIENT = """address field outcome loggedToContact contactCreated timelineTracking
    associatedRecordsLogged activityFeedTracking matchedPattern matchedScope explanation"""

DECISION = f"""channel sender {{ id }} neverLogApplies emailSent loggedCount neverLogCount
    recipients {{ {RECIPIENT} }}"""

EVALUATE = (
    f"""query($email: EmailInput!) {{ evaluateEmailLogging(email: $email) {{ {DECISION} }} }}"""
)

SIMULATION = f"""id name createdAt createdBy {{ id }}
    email {{ channel sender {{ id }} to cc bcc logToCrm createNewContacts excludedRecipients
        existingContacts inReplyTo {{ to cc bcc }} }}
    recorded {{ {DECISION} }}
    current {{ {DECISION} }}
    changedSinceRun"""

RUN_SIMULATION = f"""mutation($input: RunEmailLoggingSimulationInput!) {{
    runEmailLoggingSimulation(input: $input) {{
        simulation {{ {SIMULATION} }}
        userErrors {{ field message code }} }} }}"""

DELETE_SIMULATION = """mutation($input: DeleteEmailLoggingSimulationInput!) {
    deleteEmailLoggingSimulation(input: $input) { deletedId userErrors { field message code } } }"""

SIMULATIONS = f"""query($first: Int, $after: String) {{ emailLoggingSimulations(first: $first, after: $after) {{
    edges {{ cursor node {{ {SIMULATION} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    totalCount }} }}"""

ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    added { pattern } list { count } userErrors { field message code } } }"""

REMOVE = """mutation($input: RemoveNeverLogEntriesInput!) { removeNeverLogEntries(input: $input) {
    removedIds userErrors { field message code } } }"""

DEACTIVATE = """mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    user { active } userErrors { code message } } }"""

TOTALS = """{ auditEvents { totalCount } emailLoggingSimulations { totalCount } }"""


def email(channel: str = "CRM", **fields: Any) -> dict[str, Any]:
    """An EmailInput: fields by their GraphQL names (to, cc, bcc, senderId, logToCrm, ...)."""
    return {"channel": channel, "to": [], **fields}


async def evaluate(api: Api, member: Member, given: dict[str, Any]) -> dict[str, Any]:
    """The member's evaluateEmailLogging decision; fails the test on any error."""
    data = await api.data(EVALUATE, {"email": given}, token=member.token)
    decision: dict[str, Any] = data["evaluateEmailLogging"]
    return decision


async def evaluate_body(api: Api, member: Member | None, given: dict[str, Any]) -> dict[str, Any]:
    """The whole answer to evaluateEmailLogging, errors and all."""
    return await api.gql(EVALUATE, {"email": given}, token=member.token if member else None)


def outcomes(decision: dict[str, Any]) -> dict[str, str]:
    """Each recipient's outcome by address, in the decision's order."""
    return {r["address"]: r["outcome"] for r in decision["recipients"]}


def recipient(decision: dict[str, Any], address: str) -> dict[str, Any]:
    """The decision on one recipient."""
    found = [r for r in decision["recipients"] if r["address"] == address]
    assert len(found) == 1, decision["recipients"]
    result: dict[str, Any] = found[0]
    return result


async def add_patterns(
    api: Api, member: Member, patterns: list[str], *, scope: str = "PERSONAL"
) -> None:
    data = await api.data(
        ADD, {"input": {"scope": scope, "patterns": patterns}}, token=member.token
    )
    assert_no_user_errors(data["addNeverLogEntries"])


async def remove_patterns(
    api: Api, member: Member, patterns: list[str], *, scope: str = "PERSONAL"
) -> None:
    data = await api.data(
        REMOVE, {"input": {"scope": scope, "patterns": patterns}}, token=member.token
    )
    assert_no_user_errors(data["removeNeverLogEntries"])


async def deactivate(api: Api, admin: Member, member: Member) -> None:
    data = await api.data(DEACTIVATE, {"input": {"userId": member.user_id}}, token=admin.token)
    assert_no_user_errors(data["deactivateUser"])


async def run_simulation(
    api: Api, member: Member, given: dict[str, Any], *, name: str | None = None
) -> dict[str, Any]:
    """The runEmailLoggingSimulation payload."""
    data = await api.data(
        RUN_SIMULATION, {"input": {"name": name, "email": given}}, token=member.token
    )
    payload: dict[str, Any] = data["runEmailLoggingSimulation"]
    return payload


async def saved_simulation(
    api: Api, member: Member, given: dict[str, Any], *, name: str | None = None
) -> dict[str, Any]:
    """A simulation that the member ran and saved."""
    payload = await run_simulation(api, member, given, name=name)
    assert_no_user_errors(payload)
    simulation: dict[str, Any] = payload["simulation"]
    return simulation


async def simulations_page(
    api: Api, member: Member, *, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    data = await api.data(SIMULATIONS, {"first": first, "after": after}, token=member.token)
    page: dict[str, Any] = data["emailLoggingSimulations"]
    return page


async def simulation_ids(api: Api, member: Member) -> list[str]:
    """The IDs of every simulation the member sees, newest first (one page of up to 100)."""
    page = await simulations_page(api, member, first=100)
    return [edge["node"]["id"] for edge in page["edges"]]


async def totals(api: Api, member: Member) -> dict[str, Any]:
    """How many audit events and saved simulations the member sees."""
    return await api.data(TOTALS, token=member.token)


@contextmanager
def counting_statements(api: Api | Database) -> Iterator[list[str]]:
    """Every SQL statement that the API's (or the database's) engine runs inside the
    block (an executemany counts as one; the reads that bypass SQLAlchemy announce
    theirs)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = (api if isinstance(api, Database) else api.db).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def statements_of(
    api: Api, member: Member, query: str, variables: dict[str, Any] | None = None
) -> list[str]:
    """The statements of one request, right after a warm-up request of the same token:
    authentication writes a token's lastUsedAt at most once a minute (in the background,
    tenancy/touches.py), and the warm-up, with that write, takes it out of the measured
    request; so is the first poll of the lists held in memory on PostgreSQL, which the
    process makes as it starts (tenancy/held_lists.py), not for a request."""
    await api.data("{ viewer { user { id } } }", token=member.token)
    await touches.flush(api.db)
    holder = held_lists.holder_of(api.db)
    if holder is not None:
        await holder.first_poll()
    with counting_statements(api) as statements:
        await api.data(query, variables, token=member.token)
    # A later poll (one per process and half-second, whichever decision comes then) is the
    # process's, not the request's: on a slow machine one may fall within the request.
    return [s for s in statements if "neverlog_lists_changed_since" not in s]
