"""What a request may cost: the charge follows the work, oversized input is refused before
it is parsed, caches and stored simulations are bounded, and a database that cannot serve
answers 503 (PRODUCT.md, "What a request may cost")."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from tenancy.users import create_account
from tests.api.decision_helpers import DELETE_SIMULATION, email, run_simulation
from tests.helpers import (
    IMPORT_LIST,
    Api,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
    error_codes,
)

PAGE_WITH_CREATORS = """query($f: Int = 100) { neverLogList(scope: PERSONAL) {
    entries(first: $f) { edges { node { createdBy { id } } } } } }"""


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next one twice: 2**levels fields once expanded."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Query {{ __typename }}")
    return "query { ...F0 } " + " ".join(fragments)


def cost(body: dict[str, Any]) -> int:
    charged: int = body["extensions"]["cost"]["requestedQueryCost"]
    return charged


@pytest.fixture
def no_email_validator_over_320(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Fails the test if email-validator is asked about a text over 320 characters."""
    import policy.syntax

    seen: list[int] = []
    original = policy.syntax.validate_email

    def guarded(text: str, **options: Any) -> Any:
        seen.append(len(text))
        assert len(text) <= 320, f"email-validator called with {len(text)} characters"
        return original(text, **options)

    monkeypatch.setattr(policy.syntax, "validate_email", guarded)
    yield seen


# -- the charge follows the work ---------------------------------------------------------


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
async def test_a_fragment_bomb_is_refused_by_its_expanded_cost_and_charged(
    api: Api, signed_in: bool
) -> None:
    # given a document of under 1 KB whose fragments expand to 2**24 fields
    admin = await api.new_account()
    bomb = fragment_bomb(24)
    assert len(bomb) < 1_024
    # when
    body = await api.gql(bomb, token=admin.token if signed_in else None)
    # then it is measured once per fragment, refused by the cost limit, and charged
    assert error_codes(body) == ["MAX_COST_EXCEEDED"]
    assert body["errors"][0]["extensions"]["value"] >= 2**24 // 100
    assert cost(body) >= 1
    assert "throttleStatus" in body["extensions"]["cost"]


async def test_fragments_nested_150_deep_are_refused_by_the_cost_limit(api: Api) -> None:
    # given a chain of 150 fragments, each spreading the next once (within the token limit;
    # graphql-core refuses a chain of 700 as invalid itself)
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(150))
    query = f"query {{ ...F0 }} {chain} fragment F150 on Query {{ __typename }}"
    # when
    body = await api.gql(query)
    # then a refusal, not an error of the server
    assert error_codes(body) == ["MAX_COST_EXCEEDED"]


async def test_parsing_a_new_text_is_charged_and_a_known_one_is_not(api: Api) -> None:
    # given a text this process has not parsed yet
    query = "{ __typename } # " + uuid.uuid4().hex + " " + "x" * 450
    # when it is sent twice
    first = await api.gql(query)
    second = await api.gql(query)
    # then the first pays for parsing and validating it, 1 point per 100 characters
    assert first["extensions"]["cost"]["parsingCost"] == -(-len(query) // 100)
    assert second["extensions"]["cost"]["parsingCost"] == 0


async def test_validating_a_new_text_is_charged_by_its_fragments_and_fields(api: Api) -> None:
    # given a chain of fragments that spread each other twice (24 levels, under 1 KB), and a
    # selection of 100 fields
    bomb = fragment_bomb(24) + " # " + uuid.uuid4().hex
    wide = "{ viewer { user { " + "id " * 100 + "} } } # " + uuid.uuid4().hex
    # when
    bombed = await api.gql(bomb)
    answered = await api.gql(wide)
    # then each spread costs 2 (validation compares their fields), and a set of k fields
    # k² / 200 (validation compares each field with every other)
    assert bombed["extensions"]["cost"]["parsingCost"] == -(-len(bomb) // 100) + 2 * 49
    assert answered["extensions"]["cost"]["parsingCost"] == -(-len(wide) // 100) + 100**2 // 200


async def test_a_text_too_costly_to_validate_is_refused_before_validation(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given validation made to fail the test if asked, and 3,000 fields in one selection set
    # (graphql-core compares each with every other: a third of a second)
    import api.graphql_http as view

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validated")

    monkeypatch.setattr(view, "validate", refused)
    wide = "{ viewer { user { " + "id " * 3_000 + "} } } # " + uuid.uuid4().hex
    # when
    body = await api.gql(wide)
    # then it is refused by the cost limit, charged the parsing it took
    assert error_codes(body) == ["MAX_COST_EXCEEDED"]
    assert body["errors"][0]["extensions"]["value"] >= 3_000**2 // 200
    assert body["extensions"]["cost"]["parsingCost"] == -(-len(wide) // 100)


async def test_a_small_fragment_tree_is_answered_and_costs_its_expansion(api: Api) -> None:
    # when: 2**10 fields once expanded
    body = await api.gql(fragment_bomb(10))
    # then
    assert body["data"] == {"__typename": "Query"}
    assert cost(body) == 2**10 // 100


async def test_a_variables_default_value_counts_as_given(api: Api) -> None:
    # given
    admin = await api.new_account()
    # when $f is left to its default of 100, and when it is given as 10
    defaulted = await api.gql(PAGE_WITH_CREATORS, token=admin.token)
    given = await api.gql(PAGE_WITH_CREATORS, {"f": 10}, token=admin.token)
    # then the default is charged as first: 100 (not as first absent: 50)
    assert cost(defaulted) == 1 + 2 + 100 * 3
    assert cost(given) == 1 + 2 + 10 * 3


async def test_list_arguments_cost_per_item(api: Api) -> None:
    # given
    admin = await api.new_account()
    evaluate = """query($e: EmailInput!) { evaluateEmailLogging(email: $e) {
        recipients { address } } }"""
    one = email("CRM", to=["a@acme-corp.com"])
    many = email("CRM", to=[f"u{n}@acme-corp.com" for n in range(40)], cc=["x@y.com, z@y.com"])
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    # when
    small = await api.gql(evaluate, {"e": one}, token=admin.token)
    large = await api.gql(evaluate, {"e": many}, token=admin.token)
    two_ids = await api.gql(nodes, {"ids": [admin.user_id, admin.account_id]}, token=admin.token)
    # then every recipient (and every address in a text of several) costs a point; each ID
    # costs its look-up
    assert cost(large) - cost(small) == 39 + 2
    assert cost(two_ids) == 1 + 2 * 1 + 2


UMLAUTS = "äöß"


def umlaut_address(n: int, letters: int = 150) -> str:
    """``u<n>@`` + ``letters`` letters among ä, ö, ß + ``.de``."""
    return f"u{n}@" + "".join(UMLAUTS[(n * 7 + i * i) % 3] for i in range(letters)) + ".de"


async def test_an_address_costs_what_parsing_it_costs(api: Api) -> None:
    # given an email of one ordinary address, and the same with one long non-ASCII address
    admin = await api.new_account()
    evaluate = "query($e: EmailInput!) { evaluateEmailLogging(email: $e) { loggedCount } }"
    ordinary = email("CRM", to=["a@acme-corp.com"])
    long_ascii = email("CRM", to=["a" * 60 + "@" + ".".join(["d" * 60] * 3) + ".com"])
    umlauts = email("CRM", to=[umlaut_address(1)])
    # when
    costs = [
        cost(await api.gql(evaluate, {"e": e}, token=admin.token))
        for e in (ordinary, long_ascii, umlauts)
    ]
    # then the ordinary one costs its point; 250 ASCII characters (the fast path) cost what
    # their bytes do; 300 bytes of letters that IDNA would encode, 1 per 256 bytes, 1 for
    # leaving the fast path and 1 per 5 bytes beyond one a character
    assert costs[1] - costs[0] == 0
    assert costs[2] - costs[0] == 306 // 256 + 1 + 30


async def test_the_batch_discount_is_for_ordinary_addresses_only(api: Api) -> None:
    # given two batches of 100 emails of 30 recipients: ordinary ones, and ones like
    # u1@ + 150 letters among ä, ö, ß + .de
    admin = await api.new_account()
    batch = """query($emails: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $emails) {
        loggedCount } }"""
    ordinary = [email("CRM", to=[f"u{e}-{r}@acme-corp.com" for r in range(30)]) for e in range(100)]
    umlauts = [email("CRM", to=[umlaut_address(e * 30 + r) for r in range(30)]) for e in range(100)]
    # when
    cheap = await api.gql(batch, {"emails": ordinary}, token=admin.token)
    dear = await api.gql(batch, {"emails": umlauts}, token=admin.token)
    # then the ordinary addresses cost 1 per 5, and the others are refused before any is
    # parsed: what parsing them would cost is charged in full, past the cost limit
    assert "errors" not in cheap, cheap["errors"]
    assert cost(cheap) < 1_000
    assert error_codes(dear) == ["MAX_COST_EXCEEDED"]
    assert dear["errors"][0]["extensions"]["value"] >= 3_000 * (1 + 30)


async def test_a_csv_import_costs_per_line_and_a_huge_one_is_refused_unparsed(
    api: Api, no_email_validator_over_320: list[int]
) -> None:
    # given
    admin = await api.new_account()
    lines = "".join(f"user{n}@bulk-example.com\n" for n in range(4_000))
    # when
    body = await api.gql(
        IMPORT_LIST,
        {"input": {"scope": "PERSONAL", "csv": lines, "mode": "MERGE"}},
        token=admin.token,
    )
    # then: refused by the cost limit before any pattern was parsed
    assert error_codes(body) == ["MAX_COST_EXCEEDED"]
    assert body["errors"][0]["extensions"]["value"] > 4_000
    assert no_email_validator_over_320 == []


# -- refused requests are charged --------------------------------------------------------


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
async def test_refused_requests_draw_from_the_bucket(
    make_api: Callable[..., Api], signed_in: bool
) -> None:
    # given a bucket of 10 points that hardly refills
    api = make_api(rate_limit_capacity=10, rate_limit_restore_rate=0.001)
    try:
        admin = await api.new_account()
        token = admin.token if signed_in else None
        # when ten requests that fail to parse, then another
        for _ in range(10):
            refused = await api.gql("{ this is not graphql", token=token)
            assert error_codes(refused) == ["GRAPHQL_PARSE_FAILED"]
        response = await api.post("{ __typename }", token=token)
        # then the refusals took the bucket's points
        assert response.status_code == 429
        assert error_codes(response.json()) == ["RATE_LIMITED"]
    finally:
        await api.close()


async def test_a_refused_request_is_charged_by_its_size(api: Api) -> None:
    # when a query of 20 KiB that does not validate
    body = await api.gql("{ noSuchField } #" + "x" * 20 * 1024)
    # then
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert cost(body) == 20


# -- oversized input is refused before it is parsed --------------------------------------


async def test_more_lines_than_the_list_holds_are_refused_before_any_is_parsed(
    make_api: Callable[..., Api],
) -> None:
    # given a personal list of at most 3 entries
    api = make_api(personal_list_limit=3)
    try:
        admin = await api.new_account()
        # when a file of 5 lines, one of them invalid
        data = await api.data(
            IMPORT_LIST,
            {
                "input": {
                    "scope": "PERSONAL",
                    "csv": "a@x.com\nb@x.com\nnot a pattern\nc@x.com\nd@x.com\n",
                    "mode": "MERGE",
                }
            },
            token=admin.token,
        )
        # then the count refuses it: no pattern was looked at
        assert_user_error(data["importNeverLogList"], "TOO_MANY_VALUES", ["input", "csv"])
    finally:
        await api.close()


async def test_a_pattern_over_320_characters_is_refused_without_email_validator(
    api: Api, no_email_validator_over_320: list[int]
) -> None:
    # given
    admin = await api.new_account()
    long = "a" * 400 + "@acme-corp.com"
    # when
    payload = await add_entries(api, admin, [long])
    # then
    error = assert_user_error(payload, "INVALID_PATTERN", ["input", "patterns", "0"])
    assert "longer than 320 characters" in error["message"]
    assert len(error["message"]) < 200


async def test_a_huge_address_is_invalid_without_email_validator(
    api: Api, no_email_validator_over_320: list[int]
) -> None:
    # given
    admin = await api.new_account()
    huge = "x" * 300_000 + "@acme-corp.com"
    # when
    data = await api.data(
        """query($e: EmailInput!) { evaluateEmailLogging(email: $e) {
            recipients { address outcome } } }""",
        {"e": email("CRM", to=[huge, "ok@acme-corp.com"])},
        token=admin.token,
    )
    # then
    outcomes = [r["outcome"] for r in data["evaluateEmailLogging"]["recipients"]]
    assert outcomes[0] == "INVALID_ADDRESS"
    assert max(no_email_validator_over_320, default=0) <= 320


async def test_a_label_too_long_for_punycode_is_refused_without_idna_work(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given email-validator and IDNA's encoding made to fail the test if asked
    import idna

    import policy.syntax

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("IDNA work was done")

    admin = await api.new_account()
    monkeypatch.setattr(policy.syntax, "validate_email", refused)
    monkeypatch.setattr(idna, "alabel", refused)
    # when a pattern and a recipient have a label of 150 letters among ä, ö, ß
    added = await add_entries(api, admin, ["*@" + umlaut_address(7).split("@")[1]])
    decided = await api.data(
        """query($e: EmailInput!) { evaluateEmailLogging(email: $e) {
            recipients { outcome explanation } } }""",
        {"e": email("CRM", to=[umlaut_address(8)])},
        token=admin.token,
    )
    # then both are refused, for the label
    error = assert_user_error(added, "INVALID_PATTERN", ["input", "patterns", "0"])
    assert "longer than 63 characters" in error["message"]
    [recipient] = decided["evaluateEmailLogging"]["recipients"]
    assert recipient["outcome"] == "INVALID_ADDRESS"


async def test_a_simulation_refuses_an_address_over_320_characters(api: Api) -> None:
    # given
    admin = await api.new_account()
    long = "a" * 330 + "@acme-corp.com"
    # when
    payload = await run_simulation(api, admin, email("CRM", to=["ok@acme-corp.com"], cc=[long]))
    # then
    assert_user_error(payload, "INVALID_ADDRESS", ["input", "email", "cc", "0"])
    assert payload["simulation"] is None


async def test_a_query_text_over_100_000_characters_is_refused_unparsed(api: Api) -> None:
    # when a query padded with a comment of 200,000 characters
    body = await api.gql("{ __typename } #" + "x" * 200_000)
    # then it is refused before it is parsed, and charged its size
    assert error_codes(body) == ["MAX_QUERY_LENGTH_EXCEEDED"]
    assert body["errors"][0]["extensions"]["limit"] == 100_000
    assert body["extensions"]["cost"]["parsingCost"] == 0
    assert cost(body) >= 200_000 // 1024


@pytest.mark.parametrize("where", ["variable", "literal"])
async def test_a_string_argument_over_1_mib_is_refused(
    make_api: Callable[..., Api], where: str
) -> None:
    # given a body limit above the string limit
    api = make_api(max_body_bytes=4 * 1024 * 1024, max_query_length=2 * 1024 * 1024)
    try:
        admin = await api.new_account()
        text = "a" * (1024 * 1024 + 1)
        if where == "variable":
            query = "query($s: String) { neverLogList(scope: PERSONAL) { entries(search: $s) { totalCount } } }"
            variables: dict[str, Any] = {"s": text}
        else:
            query = (
                '{ neverLogList(scope: PERSONAL) { entries(search: "'
                + text
                + '") { totalCount } } }'
            )
            variables = {}
        # when
        body = await api.gql(query, variables, token=admin.token)
        # then
        assert error_codes(body) == ["MAX_STRING_LENGTH_EXCEEDED"]
        assert body["errors"][0]["extensions"]["limit"] == 1024 * 1024
        assert "data" not in body
    finally:
        await api.close()


# -- bounded memory ------------------------------------------------------------------------


async def test_the_query_cache_stays_within_its_bytes(make_api: Callable[..., Api]) -> None:
    # given a cache of 1 MB
    api = make_api(query_cache_bytes=1_000_000)
    try:
        cache = api.app.state.graphql.cache
        # when 60 distinct queries of 2 KB each, then 20 of 20 KB
        for n in range(60):
            body = await api.gql(f"{{ __typename }} # {n} " + "x" * 2_000)
            assert body["data"] == {"__typename": "Query"}
            assert cache.bytes <= 1_000_000
        kept = len(cache)
        for n in range(20):
            await api.gql(f"{{ __typename }} # big {n} " + "x" * 20_000)
        # (a text over 100,000 characters is refused before it is parsed)
        # then the cache never passed its bound, and texts over 16 KiB were never kept
        assert 0 < kept <= 1_000_000 // 200_000
        assert cache.bytes <= 1_000_000
        assert len(cache) == kept
    finally:
        await api.close()


async def test_an_account_holds_at_most_its_simulation_limit(make_api: Callable[..., Api]) -> None:
    # given a limit of 2 saved simulations
    api = make_api(simulation_limit=2)
    try:
        admin = await api.new_account()
        given = email("CRM", to=["jane@acme-corp.com"])
        first = await run_simulation(api, admin, given)
        assert_no_user_errors(first)
        assert_no_user_errors(await run_simulation(api, admin, given))
        # when
        third = await run_simulation(api, admin, given)
        # then
        error = assert_user_error(third, "LIMIT_EXCEEDED", ["input"])
        assert "2" in error["message"]
        # and after a delete there is room again
        deleted = await api.data(
            DELETE_SIMULATION, {"input": {"id": first["simulation"]["id"]}}, token=admin.token
        )
        assert_no_user_errors(deleted["deleteEmailLoggingSimulation"])
        assert_no_user_errors(await run_simulation(api, admin, given))
    finally:
        await api.close()


async def test_a_page_of_simulations_is_bounded_by_the_addresses_it_holds(api: Api) -> None:
    # given 4 simulations of 1,500 addresses each (500 recipients, excluded, existing)
    admin = await api.new_account()
    addresses = [f"r{n}@acme-corp.com" for n in range(500)]
    big = email("CRM", to=addresses, excludedRecipients=addresses, existingContacts=addresses)
    for _ in range(8):
        assert_no_user_errors(await run_simulation(api, admin, big))
    page = """query($after: String) { emailLoggingSimulations(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    # when every page is read
    seen: list[str] = []
    sizes: list[int] = []
    after = None
    while True:
        data = (await api.data(page, {"after": after}, token=admin.token))[
            "emailLoggingSimulations"
        ]
        sizes.append(len(data["edges"]))
        seen += [e["node"]["id"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    # then no page held more than 10,000 addresses, and every simulation was on one
    assert max(sizes) == 6
    assert len(set(seen)) == 8


async def test_nodes_reads_at_most_as_many_stored_addresses_as_a_page(api: Api) -> None:
    # given 8 simulations of 1,500 addresses each (500 recipients, excluded, existing)
    admin = await api.new_account()
    addresses = [f"r{n}@acme-corp.com" for n in range(500)]
    big = email("CRM", to=addresses, excludedRecipients=addresses, existingContacts=addresses)
    ids = [(await run_simulation(api, admin, big))["simulation"]["id"] for _ in range(8)]
    nodes = """query($ids: [ID!]!) { nodes(ids: $ids) {
        ... on EmailLoggingSimulation { id email { to } } } }"""
    # when all 8 are asked for at once (12,000 addresses), and then 6 (9,000)
    refused = await api.gql(nodes, {"ids": ids}, token=admin.token)
    answered = await api.data(nodes, {"ids": ids[:6]}, token=admin.token)
    # then the 8 are refused before any is read, saying how many they hold and the limit
    assert refused["data"] is None
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    message = refused["errors"][0]["message"]
    assert "12000 addresses" in message and "at most 10000" in message
    # and the 6 are answered whole
    assert [n["id"] for n in answered["nodes"]] == ids[:6]
    assert all(len(n["email"]["to"]) == 500 for n in answered["nodes"])


async def test_an_answer_larger_than_its_calculated_cost_is_charged_its_objects(
    make_api: Callable[..., Api],
) -> None:
    # given two saved simulations of 300 recipients each, and a bucket that hardly refills
    # (at the default rate, the milliseconds between two charges restore some points)
    api = make_api(rate_limit_restore_rate=0.001)
    try:
        admin = await api.new_account()
        given = email("CRM", to=[f"r{n}@acme-corp.com" for n in range(300)])
        for _ in range(2):
            assert_no_user_errors(await run_simulation(api, admin, given))
        query = """{ emailLoggingSimulations(first: 2) { edges { node {
            current { recipients { address } } } } } }"""
        # when
        body = await api.gql(query, token=admin.token)
    finally:
        await api.close()
    # then the 600 recipient objects are charged, beyond the static estimate
    charged = body["extensions"]["cost"]
    assert charged["requestedQueryCost"] == 2 + 2 * 4
    assert charged["actualQueryCost"] == 1 + 2 + 2 + 2 + 600  # the connection, edges, …
    bucket = charged["throttleStatus"]
    assert bucket["currentlyAvailable"] <= bucket["maximumAvailable"] - 607


# -- a database that cannot serve ------------------------------------------------------------


@pytest.mark.postgresql
async def test_a_dropped_database_answers_503_json(db: Database, admin_db: Database) -> None:
    # given a throwaway database of its own, an account on it, and the API serving it
    name = f"nl_cost_dropped_{uuid.uuid4().hex[:8]}"
    async with admin_db.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_db.url.set(database=name).render_as_string(hide_password=False)
    throwaway = Database(url)
    try:
        await upgrade(throwaway)
        new = await create_account(
            throwaway, name="Dropped", admin_email="a@acme-corp.com", admin_name="Admin"
        )
        api = Api(Settings(database_url=url), throwaway)
        try:
            assert (
                await api.post("{ viewer { user { id } } }", token=new.token.token)
            ).status_code == 200
            # when the database is dropped under it
            async with admin_db.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            answers = [
                await api.post("{ viewer { user { id } } }", token=new.token.token)
                for _ in range(2)
            ]
        finally:
            await api.close()
    finally:
        await throwaway.dispose()
        async with admin_db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    # then every answer is a 503 in JSON, with Retry-After and the request id
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["retry-after"]
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]


@pytest.mark.postgresql
async def test_a_refused_role_answers_503_json(db: Database) -> None:
    # given a real token, and the API serving as a role that PostgreSQL does not know
    new = await create_account(db, name="Refused", admin_email="a@acme-corp.com", admin_name="A")
    url = make_url(db.url.render_as_string(hide_password=False)).set(
        username=f"nl_cost_no_role_{uuid.uuid4().hex[:8]}"
    )
    refused = Database(url.render_as_string(hide_password=False))
    api = Api(Settings(database_url=url.render_as_string(hide_password=False)), refused)
    try:
        # when signed in, and in execution
        answers = [
            await api.post("{ viewer { user { id } } }", token=new.token.token),
            await api.post("{ __typename }"),
        ]
    finally:
        await api.close()
        await refused.dispose()
    # then the request that needed the database is a 503 in JSON with its request id
    signed_in = answers[0]
    assert signed_in.status_code == 503, signed_in.text
    assert signed_in.headers["retry-after"]
    error = signed_in.json()["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["requestId"] == signed_in.headers["x-request-id"]
    assert answers[1].status_code == 200
