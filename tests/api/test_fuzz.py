"""Fuzzing with Schemathesis: every query and mutation of the schema, with arguments drawn by
Hypothesis from their GraphQL types, sent with a valid token to the ASGI app. Whatever the
input, nothing fails with a 5xx or an ``INTERNAL_SERVER_ERROR``.

Plain random strings rarely get past the first check, so the strings are drawn from what
the service parses (addresses, patterns, lists of patterns, CSV, cursors, global IDs) as well
as from any text, and IDs include those of real objects: the fuzzing reaches the code
behind the input checks.

``NEVERLOG_FUZZ_EXAMPLES`` sets the examples per operation: 5 in ``make test``, 25 in ``make
test-all`` (tests/profiles.py), many more in ``make fuzz``.
The default run is derandomized, so it is the same every time; ``NEVERLOG_FUZZ_SEED`` draws
another run, reproducibly.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.graphql import scalars as registered_scalars

from api.app import create_app
from api.settings import Settings
from persistence.database import Database
from schema import graphql_schema
from tests.helpers import ADD_ENTRIES, Api, Member, assert_no_user_errors, assert_user_error
from tests.profiles import examples

EXAMPLES = int(os.environ.get("NEVERLOG_FUZZ_EXAMPLES") or examples(25, 5))
SEED = os.environ.get("NEVERLOG_FUZZ_SEED")

# -- what the strings are drawn from -------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


DOMAINS = st.one_of(
    st.sampled_from(
        [
            "acme-corp.com",
            "example.com",
            "mail.example.com",
            "domän.se",
            "DOMÄN.se",
            "xn--domn-noa.se",
            "localhost",
            "x.*",
            "a..b.com",
            "-a.com",
            "b" * 64 + ".com",
            "sub.sub.example.co.uk",
        ]
    ),
    st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){1,3}", fullmatch=True),
)
LOCAL_PARTS = st.one_of(
    st.sampled_from(["jane", "Jane.Doe", "jane+news", '"quoted"', "na*me", "a" * 65, " jane "]),
    st.from_regex(r"[a-zA-Z0-9.+_-]{1,20}", fullmatch=True),
)
ADDRESSES = st.one_of(st.emails(), st.builds("{}@{}".format, LOCAL_PARTS, DOMAINS))
PATTERNS = st.one_of(
    ADDRESSES,
    DOMAINS.map("*@{}".format),
    DOMAINS.map("*@*.{}".format),
    DOMAINS,
    DOMAINS.map("@{}".format),
)
SEPARATED = st.builds(
    lambda items, sep: sep.join(items),
    st.lists(PATTERNS, max_size=6),
    st.sampled_from([",", ";", "\n", "\r\n", " , "]),
)
CSV = st.builds(
    lambda header, rows: header + "\r\n".join(rows),
    st.sampled_from(["", "pattern,kind,created_at,created_by\r\n", "pattern\n"]),
    st.lists(
        st.builds(
            lambda pattern, rest: ",".join([pattern, *rest]),
            st.one_of(PATTERNS, PATTERNS.map('"{}"'.format)),
            st.lists(st.text(max_size=10), max_size=3),
        ),
        max_size=6,
    ),
)
TIMESTAMPS = st.builds(
    lambda when, minutes: when.replace(
        tzinfo=dt.timezone(dt.timedelta(minutes=minutes))
    ).isoformat(),
    st.one_of(st.sampled_from([dt.datetime.min, dt.datetime.max]), st.datetimes()),
    st.one_of(st.sampled_from([-840, -60, 60, 840]), st.integers(-1439, 1439)),
)
# Base64url of a JSON list, as the service's cursors are: of the shapes it hands out (a
# timestamp and a UUID; a pattern or an address), with anything in them (times at the edges
# of the calendar, lone surrogates, NULs), and of other shapes.
SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
CURSORS = st.one_of(
    st.tuples(TIMESTAMPS, st.uuids().map(str)),
    st.tuples(st.one_of(PATTERNS, st.text(), SURROGATES)),
    st.lists(
        st.one_of(TIMESTAMPS, st.uuids().map(str), st.text(), SURROGATES, st.integers(), st.none()),
        max_size=3,
    ),
).map(lambda values: _b64(json.dumps(list(values)).encode()))
STRINGS = st.one_of(CURSORS, PATTERNS, ADDRESSES, SEPARATED, CSV, st.text())
NODE_TYPES = [
    "Account",
    "ApiToken",
    "AuditEvent",
    "EmailLoggingSimulation",
    "NeverLogEntry",
    "User",
    "Nope",
]
GLOBAL_IDS = st.builds(
    lambda kind, row: _b64(f"{kind}:{row}".encode()), st.sampled_from(NODE_TYPES), st.uuids()
)
INTS = st.one_of(st.integers(-2, 120), st.integers(-(2**31), 2**31 - 1))


@contextlib.contextmanager
def _scalars(known_ids: list[str]) -> Iterator[None]:
    """Registers the strategies above for String, ID and Int while the fuzzing runs (and
    puts back what was there: Schemathesis keeps them for the whole process)."""
    ids = st.one_of(st.sampled_from(known_ids), GLOBAL_IDS, st.text())
    saved = dict(registered_scalars.CUSTOM_SCALARS)
    schemathesis.graphql.scalar("String", STRINGS.map(nodes.String))
    schemathesis.graphql.scalar("ID", ids.map(nodes.String))
    schemathesis.graphql.scalar("Int", INTS.map(nodes.Int))
    try:
        yield
    finally:
        registered_scalars.CUSTOM_SCALARS.clear()
        registered_scalars.CUSTOM_SCALARS.update(saved)


# -- the app, an account with something in it, and another account ----------------------


@dataclass
class Target:
    schema: Any  # schemathesis' GraphQLSchema, loaded from the app by introspection
    headers: dict[str, str]
    known_ids: list[str]
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)


async def _ids(api: Api, member: Member, query: str, *path: str) -> list[str]:
    data: Any = await api.data(query, token=member.token)
    for key in path:
        data = data[key]
    return [edge["node"]["id"] if "node" in edge else edge["id"] for edge in data]


async def _populate(api: Api) -> tuple[Member, list[str]]:
    """An admin whose account has a member, entries on both lists, a simulation and audit
    events, and another account with the same; the IDs of all of it but the admin and the
    admin's token (which the fuzzing must not take away from itself)."""
    admin = await api.new_account("Fuzz")
    other = await api.new_account("Other")
    ids: list[str] = []
    for owner in (admin, other):
        member = await api.add_member(owner)
        ids += [member.user_id, owner.account_id]
        for who, scope in ((owner, "ACCOUNT"), (member, "PERSONAL")):
            added = await api.data(
                ADD_ENTRIES,
                {
                    "input": {
                        "scope": scope,
                        "patterns": ["jane@acme-corp.com", "*@example.com", "*@*.domän.se"],
                    }
                },
                token=who.token,
            )
            assert_no_user_errors(added["addNeverLogEntries"])
            ids += [entry["id"] for entry in added["addNeverLogEntries"]["added"]]
        run = await api.data(
            """mutation($input: RunEmailLoggingSimulationInput!) { runEmailLoggingSimulation(input: $input) {
                simulation { id } userErrors { code message } } }""",
            {
                "input": {
                    "name": "fuzz",
                    "email": {"channel": "CRM", "to": ["jane@acme-corp.com", "bob@x.org"]},
                }
            },
            token=member.token,
        )
        assert_no_user_errors(run["runEmailLoggingSimulation"])
        ids.append(run["runEmailLoggingSimulation"]["simulation"]["id"])
        ids += await _ids(
            api,
            owner,
            "{ auditEvents(first: 20) { edges { node { id } } } }",
            "auditEvents",
            "edges",
        )
        ids += await _ids(api, member, "{ apiTokens { id } }", "apiTokens")
        if owner is other:
            ids += await _ids(api, other, "{ apiTokens { id } }", "apiTokens")
    own_token = set(await _ids(api, admin, "{ apiTokens { id } }", "apiTokens")) - set(ids)
    assert len(own_token) == 1
    return admin, sorted(set(ids) - own_token - {admin.user_id})


@pytest.fixture
async def target(db: Database, make_api: Callable[..., Api]) -> AsyncIterator[Target]:
    """The app on the suite's database (SQLite, and PostgreSQL where it is set), and a token
    of a fresh, populated account.

    Schemathesis runs the app on an event loop of its own, in another thread: the app gets an
    engine of its own, not the suite's (which lives on the suite's loop)."""
    api = make_api()
    try:
        admin, known_ids = await _populate(api)
    finally:
        await api.close()
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        # The fuzzing is one client sending as fast as it can: not a case for the rate limit.
        rate_limit_capacity=1e9,
        rate_limit_restore_rate=1e9,
    )
    app = create_app(settings)
    try:
        schema = schemathesis.graphql.from_asgi("/graphql", app)
        yield Target(
            schema=schema, headers={"Authorization": f"Bearer {admin.token}"}, known_ids=known_ids
        )
    finally:
        shutdown_lifespans()  # the app's lifespan ends: its engine is disposed


# -- the fuzzing ----------------------------------------------------------------------------


def _problem(response: Any) -> str | None:
    """What is wrong with the answer, or None."""
    if response.status_code >= 500:
        return f"status {response.status_code}: {response.text[:500]}"
    try:
        body = response.json()
    except ValueError:
        return f"status {response.status_code}, not JSON: {response.text[:500]}"
    internal = [
        e
        for e in body.get("errors") or ()
        if (e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
    ]
    if internal:
        return f"INTERNAL_SERVER_ERROR (status {response.status_code}): {internal}"
    return None


def _outcome(response: Any) -> str:
    """A short name for what the answer was, to show what the fuzzing reached."""
    try:
        body = response.json()
    except ValueError:
        return f"http {response.status_code}"
    codes = sorted(
        {str((e.get("extensions") or {}).get("code", "?")) for e in body.get("errors") or ()}
    )
    if codes:
        return ",".join(codes)
    payload = next(iter((body.get("data") or {}).values()), None)
    if isinstance(payload, dict) and payload.get("userErrors"):
        return "userErrors:" + ",".join(
            sorted({str(e.get("code", "?")) for e in payload["userErrors"]})
        )
    return "ok"


def _fuzz(target: Target, operation: Any, mode: GenerationMode, examples: int) -> str | None:
    """Runs one operation's examples; returns the (shrunk) failure, or None."""
    outcomes = target.outcomes.setdefault(f"{operation.label} ({mode.value})", Counter())

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            response = case.call(headers=target.headers)
        except Exception as error:  # raised out of the app: a real server answers 500
            raise AssertionError(f"the app raised {error!r} for:\n{case.body}") from error
        outcomes[_outcome(response)] += 1
        problem = _problem(response)
        assert problem is None, f"{problem}\nfor:\n{case.body}"

    if SEED is not None:
        run = seed(int(SEED))(run)
    try:
        run()
    except AssertionError as failure:
        return f"{operation.label} ({mode.value}): {failure}"
    except FlakyFailure as flaky:
        # The app's state moved on (e.g. the user now exists), so the case passed when replayed.
        found = "\n".join(str(e) for e in flaky.exceptions)
        return f"{operation.label} ({mode.value}), which passed when replayed: {found}"
    return None


def test_no_input_makes_any_operation_fail_with_an_internal_error(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    # given every query and mutation of the schema
    operations = [result.ok() for result in target.schema.get_all_operations()]
    schema = graphql_schema()
    roots = [schema.query_type, schema.mutation_type]
    assert {op.label for op in operations} == {
        f"{root.name}.{name}" for root in roots if root is not None for name in root.fields
    }
    # when each is fuzzed with valid arguments, and with a few invalid ones
    started = time.monotonic()
    with _scalars(target.known_ids):
        failures = [
            failure
            for operation in operations
            for mode, examples in (
                (GenerationMode.POSITIVE, EXAMPLES),
                (GenerationMode.NEGATIVE, max(1, EXAMPLES // 5)),
            )
            if (failure := _fuzz(target, operation, mode, examples)) is not None
        ]
    # then (what each operation answered is shown where the test fails, or with -rP)
    verbose = os.environ.get("NEVERLOG_FUZZ_VERBOSE")
    with capsys.disabled() if verbose else contextlib.nullcontext():
        requests = sum(sum(counts.values()) for counts in target.outcomes.values())
        print(
            f"\n{len(operations)} operations, {EXAMPLES} examples each: "
            f"{requests} requests in {time.monotonic() - started:.1f} s"
        )
        for label, counts in sorted(target.outcomes.items()):
            print(f"  {label}: {dict(counts.most_common())}")
    assert not failures, "\n\n".join(failures)
    # and every operation got past authentication, so the fuzzing reached the resolvers
    for label, counts in target.outcomes.items():
        if "(positive)" in label:
            assert set(counts) != {"UNAUTHENTICATED"}, (
                f"{label} never got past authentication: {counts}"
            )


# -- what the fuzzing found, kept as examples (on every backend) -------------------------


def _cursor(values: list[Any]) -> str:
    return _b64(json.dumps(values).encode())


@pytest.mark.parametrize(
    ("query", "after"),
    [
        (
            "query($after: String) { auditEvents(first: 5, after: $after) { totalCount } }",
            ["0001-01-01T00:00:00+14:00", "0190a5a4-0000-7000-8000-000000000000"],
        ),
        (
            "query($after: String) { emailLoggingSimulations(first: 5, after: $after) { totalCount } }",
            ["9999-12-31T23:59:59-14:00", "0190a5a4-0000-7000-8000-000000000000"],
        ),
        ("query($after: String) { users(first: 5, after: $after) { totalCount } }", ["\ud800"]),
        (
            "query($after: String) { neverLogList(scope: PERSONAL) { entries(first: 5, after: $after) { totalCount } } }",
            ["jane\x00@acme-corp.com"],
        ),
    ],
    ids=["time-before-year-1-in-utc", "time-after-year-9999-in-utc", "lone-surrogate", "nul"],
)
async def test_a_cursor_that_the_database_cannot_take_is_bad_input(
    api: Api, query: str, after: list[Any]
) -> None:
    # given a cursor of the right shape whose values no cursor of ours holds
    admin = await api.new_account()
    # when
    body = await api.gql(query, {"after": _cursor(after)}, token=admin.token)
    # then
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["argument"] == "after"


NUL_MUTATIONS = [
    (
        "mutation($input: AddUserInput!) { addUser(input: $input) { user { id } "
        "userErrors { field code message } } }",
        {"input": {"email": "jane@acme-corp.com", "name": "Jane\x00Doe"}},
        ("addUser", ["input", "name"], "INVALID_INPUT"),
    ),
    (
        "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token "
        "userErrors { field code message } } }",
        {"input": {"name": "ci\x00"}},
        ("createApiToken", ["input", "name"], "INVALID_INPUT"),
    ),
    (
        "mutation($input: RunEmailLoggingSimulationInput!) { runEmailLoggingSimulation(input: $input) { "
        "simulation { id } userErrors { field code message } } }",
        {
            "input": {
                "email": {"channel": "CRM", "to": ["ok@acme-corp.com", "jane\x00@acme-corp.com"]}
            }
        },
        ("runEmailLoggingSimulation", ["input", "email", "to", "1"], "INVALID_ADDRESS"),
    ),
    (
        'mutation { addUser(input: {email: "jane@acme-corp.com", name: "Jane\\u0000Doe"}) { user { id } '
        "userErrors { field code message } } }",
        None,
        ("addUser", ["input", "name"], "INVALID_INPUT"),
    ),
]


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    NUL_MUTATIONS,
    ids=["user-name", "token-name", "recipient", "literal"],
)
async def test_text_holding_a_nul_is_a_user_error_and_saves_nothing(
    api: Api, query: str, variables: dict[str, Any] | None, expected: tuple[str, list[str], str]
) -> None:
    # given (PostgreSQL cannot store a NUL: it failed there as an unexpected error)
    admin = await api.new_account()
    mutation, field, code = expected
    # when
    body = await api.gql(query, variables, token=admin.token)
    # then the refusal is the payload's, naming the field
    assert "errors" not in body, body
    errors = body["data"][mutation]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert "U+0000" in errors[0]["message"]
    # and nothing was saved
    after = await api.data(
        "{ users { totalCount } apiTokens { id } emailLoggingSimulations { totalCount } }",
        token=admin.token,
    )
    assert (
        after["users"]["totalCount"],
        len(after["apiTokens"]),
        after["emailLoggingSimulations"]["totalCount"],
    ) == (1, 1, 0)


async def test_a_search_holding_a_nul_is_bad_input(api: Api) -> None:
    admin = await api.new_account()
    body = await api.gql(
        "query($search: String) { neverLogList(scope: PERSONAL) { entries(search: $search) { totalCount } } }",
        {"search": "acme\x00"},
        token=admin.token,
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["argument"] == "search"


async def test_evaluating_a_recipient_holding_a_nul_decides_it_invalid(api: Api) -> None:
    admin = await api.new_account()
    decision = await api.data(
        "query($e: EmailInput!) { evaluateEmailLogging(email: $e) { recipients { outcome } } }",
        {"e": {"channel": "CRM", "to": ["jane\x00@acme-corp.com"]}},
        token=admin.token,
    )
    assert decision["evaluateEmailLogging"]["recipients"] == [{"outcome": "INVALID_ADDRESS"}]


IMPORT = """mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) {
    addedCount list { count } userErrors { field message code } } }"""


async def test_an_import_with_old_mac_line_ends_reads_as_lines(api: Api) -> None:
    # given a file whose lines end with a lone CR (it failed as an unexpected error)
    admin = await api.new_account()
    csv = (
        "pattern,kind,created_at,created_by\rjane@acme-corp.com,ADDRESS,,\r*@example.com,DOMAIN,,\r"
    )
    # when
    data = await api.data(IMPORT, {"input": {"scope": "PERSONAL", "csv": csv}}, token=admin.token)
    # then
    assert_no_user_errors(data["importNeverLogList"])
    assert data["importNeverLogList"]["addedCount"] == 2


async def test_an_import_with_a_field_longer_than_csv_reads_is_bad_input(api: Api) -> None:
    # given a field over the csv module's limit (131072 characters), within the body limit
    admin = await api.new_account()
    csv = "jane@acme-corp.com" + "x" * 140_000
    # when
    data = await api.data(IMPORT, {"input": {"scope": "PERSONAL", "csv": csv}}, token=admin.token)
    # then nothing is saved, and the error says why
    error = assert_user_error(data["importNeverLogList"], "INVALID_INPUT", ["input", "csv"])
    assert "cannot be read as CSV" in error["message"]
    listed = await api.data("{ neverLogList(scope: PERSONAL) { count } }", token=admin.token)
    assert listed["neverLogList"]["count"] == 0
