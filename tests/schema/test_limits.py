"""The cost measure keeps what it measured of a selection set that reads no variable, for
the next request of the same document: what it keeps must never stand in for what the
variables of another request change."""

from __future__ import annotations

from typing import Any

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from hypothesis import given, settings
from hypothesis import strategies as st

from schema import graphql_schema
from schema.limits import Measure, QueryLimits, _items, _walked, longest_string, measure
from tests.profiles import examples

SCHEMA = graphql_schema()


class Document:
    """A document parsed once, measured as the HTTP view measures a cached one."""

    def __init__(self, text: str) -> None:
        document = parse(text)
        self.operation = next(
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        )
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def measure(self, variables: dict[str, Any] | None = None, **limits: Any) -> Measure:
        return measure(SCHEMA, self.operation, self.fragments, variables, QueryLimits(**limits))


def test_a_page_size_in_a_variable_counts_anew_in_every_request() -> None:
    document = Document(
        "query Q($n: Int) { neverLogList(scope: PERSONAL) { "
        "entries(first: $n) { edges { node { id pattern createdBy { name } } } } } }"
    )
    small, large = document.measure({"n": 5}), document.measure({"n": 100})
    assert large.cost > small.cost
    assert document.measure({"n": 5}) == small


TWICE = (
    "query Q($n: Int) { a: neverLogList(scope: PERSONAL) { ...Page } "
    "b: neverLogList(scope: ACCOUNT) { ...Page } } "
    "fragment Page on NeverLogList { entries(first: $n) { edges { node { createdBy { id } } } } }"
)


def test_a_fragment_that_reads_a_variable_counts_anew_wherever_it_is_spread() -> None:
    # The fragment is spread twice: the second spread finds it measured in this request,
    # and must still make its selection set one that reads a variable.
    document = Document(TWICE)
    for n in (2, 90, 2):
        assert document.measure({"n": n}) == Document(TWICE).measure({"n": n})
    assert document.measure({"n": 90}).cost > document.measure({"n": 2}).cost


def test_what_is_kept_of_a_selection_set_gives_the_same_measure() -> None:
    text = "{ viewer { user { id email } account { name } } }"
    fresh = Document(text).measure()
    cached = Document(text)
    assert cached.measure() == fresh
    assert cached.measure() == fresh


def test_a_long_literal_string_is_still_seen_in_a_selection_set_kept_from_before() -> None:
    long = "x" * 500
    document = Document(
        f'{{ neverLogList(scope: PERSONAL) {{ entries(search: "{long}") '
        "{ edges { node { id } } } } }"
    )
    assert document.measure().longest_string == 500
    assert document.measure().longest_string == 500


def test_other_limits_are_measured_on_their_own() -> None:
    document = Document("{ neverLogList(scope: PERSONAL) { csv } }")
    assert document.measure(largest_list=500).cost < document.measure(largest_list=5000).cost


BATCH = """query($emails: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $emails) {
    loggedCount } }"""
ADD = """mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) {
    userErrors { code } } }"""
IMPORT = """mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) {
    userErrors { code } } }"""


def umlauts(n: int) -> str:
    """u<n>@ + 150 letters among ä, ö, ß + .de: 306 bytes, 150 beyond one a character."""
    return f"u{n}@" + "".join("äöß"[(n + i) % 3] for i in range(150)) + ".de"


def test_a_batch_of_ordinary_addresses_costs_a_point_per_five() -> None:
    emails = [
        {"channel": "CRM", "to": [f"u{e}-{r}@acme.com" for r in range(30)]} for e in range(100)
    ]
    # each email is an item of the list too
    assert Document(BATCH).measure({"emails": emails}).cost == 1 + (3_000 + 100) // 5


def test_each_header_of_an_email_costs_a_point() -> None:
    def batch(headers: int) -> int:
        email = {
            "channel": "CRM",
            "direction": "INBOUND",
            "from": "news@shop.com",
            "to": ["me@acme.com"],
            "headers": [{"name": f"X-{h}", "value": "v" * 900} for h in range(headers)],
        }
        return Document(BATCH).measure({"emails": [email] * 100}).cost

    assert batch(50) - batch(0) == 100 * 50 // 5


def test_what_parsing_costs_beyond_ordinary_addresses_is_charged_in_full_in_a_batch() -> None:
    # 1 per 256 bytes, 1 for leaving the fast path, 1 per 5 bytes beyond one a character
    emails = [
        {"channel": "CRM", "to": [umlauts(e * 30 + r) for r in range(30)]} for e in range(100)
    ]
    per_address = 306 // 256 + 1 + 150 // 5
    charged = Document(BATCH).measure({"emails": emails}).cost
    assert charged == 1 + (3_000 + 100) // 5 + 3_000 * per_address


def test_patterns_and_csv_lines_cost_what_parsing_them_costs() -> None:
    def add(patterns: list[str]) -> int:
        return Document(ADD).measure({"input": {"scope": "PERSONAL", "patterns": patterns}}).cost

    def imported(csv: str) -> int:
        return Document(IMPORT).measure({"input": {"scope": "PERSONAL", "csv": csv}}).cost

    ordinary = add(["a@x.com"])
    assert add(["a@x.com", "b@x.com"]) - ordinary == 1
    # 305 bytes: 1 for them, 1 for leaving the fast path, 30 for 150 letters beyond ASCII
    assert add(["*@" + umlauts(0).split("@")[1]]) - ordinary == 1 + 1 + 30
    # Punycode is IDNA's work too, however ASCII
    assert add(["*@xn--mller-kva.de"]) - ordinary == 1 + 13
    assert imported("*@" + umlauts(0).split("@")[1]) - imported("*@x.de") == 1 + 1 + 30


# Texts near every line the measure draws: ordinary addresses, separators, what leaves
# the fast path ("--", a quote, a backslash, a comment), letters beyond ASCII, 255 and 256
# characters.
ODD_TEXTS = [
    *("a@x.com", "", "a,b@x.com", "a;b", "a\nb", "x--y@x.com", '"a"@x.com', "a\\b", "(c)a@x"),
    *("ü@x.de", "a-", "-b", "\x00", "a" * 255, "a" * 256, "*@xn--mller-kva.de"),
]
TEXTS = st.one_of(st.sampled_from(ODD_TEXTS), st.text(max_size=12))
SCALARS = st.one_of(TEXTS, st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False))
FIELDS = st.sampled_from(["to", "cc", "csv", "channel", "patterns", "headers", "name"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(FIELDS, inner, max_size=5)
    ),
    max_leaves=40,
)
# Shaped as a batch's emails (lists of objects of lists of texts): the fast paths' case.
EMAILS = st.lists(st.dictionaries(FIELDS, st.one_of(SCALARS, st.lists(TEXTS)), max_size=5))


@settings(max_examples=examples(2_000, 200))
@given(st.one_of(VALUES, EMAILS, st.dictionaries(FIELDS, st.one_of(SCALARS, st.lists(TEXTS)))))
def test_the_measure_of_plain_values_at_once_is_the_measure_of_each_value(value: Any) -> None:
    """_items finds plain values' count at once (in C), longest_string a list's texts: the
    same as looking at each value on its own."""

    def longest(value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        inner = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            return max(map(longest, inner), default=0)
        return 0

    assert _items(value) == _walked(value)
    assert longest_string(value) == longest(value)
    assert longest_string({"emails": value}) == longest(value)
