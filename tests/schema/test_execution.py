"""The execution fast path (schema/execution.py) answers exactly as graphql-core's own
executor does, and is taken where it is meant to be: it overrides internals of graphql-core
and Strawberry, so these tests are what allows it to stay."""

from __future__ import annotations

import enum
import gc
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import ExecutionResult, GraphQLSchema, execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import build_schema
from schema.context import Context
from schema.execution import ExecutionContext, is_awaitable
from tenancy.account_limits import AccountLimits
from tenancy.tokens import authenticate
from tests.api.decision_helpers import EVALUATE, email
from tests.helpers import Api, add_entries, assert_no_user_errors

# -- a tiny schema with every way a leaf field can go wrong ------------------------------


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    note: str | None
    ok: bool

    @strawberry.field
    def shout(self) -> str:
        """A resolver of its own, raising for a name it cannot shout."""
        if self.name == "after":
            return "AFTER"
        raise ValueError(f"cannot shout {self.name!r}")

    @strawberry.field
    async def later(self) -> str | None:
        """An awaited resolver, null for some."""
        return None if self.name == "plain" else f"later {self.name}"

    @strawberry.field
    async def must(self) -> str:
        """An awaited resolver of a non-null field that fails for one source."""
        if self.name == "plain":
            raise ValueError("must failed")
        return "must"


class Raising:
    """A source whose ``name`` raises when read, as a broken property would."""

    count = 1
    colour = Colour.RED
    note = None
    ok = True

    @property
    def name(self) -> str:
        raise ValueError("the name could not be read")


@dataclass
class Plain:
    name: Any = "plain"
    count: Any = 3
    colour: Any = Colour.BLUE
    note: Any = None
    ok: Any = False


SOURCES: dict[str, Any] = {
    "fine": Plain(),
    "null for a non-null field": Plain(name=None),
    "a value that is no member of the enum": Plain(colour="green"),
    "a raising property": Raising(),
    "a string for an Int": Plain(count="three"),
    "a float that is no Int": Plain(count=2.5),
    "an Int past 32 bits": Plain(count=2**31),
    "an Int at the bottom of 32 bits": Plain(count=-(2**31)),
    "a wrong type for Boolean": Plain(ok="yes"),
    "a number for a nullable String": Plain(note=12),
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self, case: str) -> list[Item]:
        return [SOURCES[case], Plain(name="after")]

    @strawberry.field
    def maybe_items(self, case: str) -> list[Item | None]:
        return [None, SOURCES[case], None]

    @strawberry.field
    def with_a_null(self, case: str) -> list[Item]:
        return [SOURCES[case], None, Plain(name="after")]

    @strawberry.field
    def item(self, case: str) -> Item | None:
        return SOURCES[case]  # type: ignore[no-any-return]


TINY: GraphQLSchema = strawberry.Schema(query=Query)._schema


async def _run(schema: GraphQLSchema, query: str, executor: type, **kwargs: Any) -> ExecutionResult:
    result = execute(
        schema, parse(query), executor_class=executor, is_awaitable=is_awaitable, **kwargs
    )
    if not isinstance(result, ExecutionResult):
        result = await result
    return result


def _answer(result: ExecutionResult) -> tuple[Any, list[Any]]:
    return result.data, [e.formatted for e in result.errors or ()]


@pytest.mark.parametrize("case", list(SOURCES))
@pytest.mark.parametrize(
    "shape",
    [
        "items(case: $case)",
        "maybeItems(case: $case)",
        "withANull(case: $case)",
        "item(case: $case)",
    ],
)
@pytest.mark.parametrize(
    "fields",
    ["name count colour note ok", "name shout count", "later name must", "ok later note"],
)
async def test_the_fast_path_answers_every_leaf_case_as_graphql_core_does(
    case: str, shape: str, fields: str
) -> None:
    # given a query for leaf fields of a source that is wrong in one way, with fields of
    # their own resolvers (raising, awaited, failing where they may not be null)
    query = f"query($case: String!) {{ {shape} {{ {fields} }} }}"
    variables = {"case": case}
    # when it runs through the stock executor and through the fast one
    stock = await _run(
        TINY, query, StrawberryGraphQLCoreExecutionContext, variable_values=variables
    )
    fast = await _run(TINY, query, ExecutionContext, variable_values=variables)
    # then data and errors (messages, paths, locations) are the same
    assert _answer(fast) == _answer(stock)


class _Spy(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's path, recording which fields went through it."""

    seen: ClassVar[list[str]]

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, *a: Any) -> Any:
        type(self).seen.append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return super().execute_field(parent_type, source, field_details_list, *a)


class _StockSpy(_Spy):
    seen: ClassVar[list[str]] = []


class _FastSpy(ExecutionContext, _StockSpy):
    """The fast path in front of the spy: what still reaches graphql-core is recorded."""

    seen: ClassVar[list[str]] = []


async def _decision(api: Api, executor: type) -> ExecutionResult:
    admin = await api.new_account()
    assert_no_user_errors(await add_entries(api, admin, ["*@lawfirm.com"], scope="ACCOUNT"))
    viewer = await authenticate(api.db, admin.token)
    context = Context(db=api.db, limits=AccountLimits(), viewer=viewer)
    variables = {
        "email": email(
            "CRM", to=["jane@lawfirm.com", "bob@customer.com", "not an address"], cc=["x@y.com"]
        )
    }
    return await _run(
        build_schema()._schema, EVALUATE, executor, context_value=context, variable_values=variables
    )


def _without_ids(result: ExecutionResult) -> Any:
    data = result.data or {}
    decision = dict(data["evaluateEmailLogging"])
    decision.pop("sender")  # each run signs in a new account
    return decision, [e.formatted for e in result.errors or ()]


async def test_the_real_decision_answers_the_same_through_both_executors(api: Api) -> None:
    # given an account-wide entry and an email whose recipients meet several rules
    # when the full decision query runs through the stock executor and the fast one
    stock = await _decision(api, StrawberryGraphQLCoreExecutionContext)
    fast = await _decision(api, ExecutionContext)
    # then the answers are the same, field for field
    assert stock.errors is None
    assert _without_ids(fast) == _without_ids(stock)
    outcomes = [r["outcome"] for r in fast.data["evaluateEmailLogging"]["recipients"]]  # type: ignore[index]
    assert outcomes == ["NEVER_LOG", "LOGGED", "INVALID_ADDRESS", "LOGGED"]


async def test_the_fast_path_is_taken_for_a_decisions_leaf_fields(api: Api) -> None:
    # given the same decision run once by graphql-core alone and once with the fast path
    _StockSpy.seen.clear()
    _FastSpy.seen.clear()
    stock = await _decision(api, _StockSpy)
    stock_seen = list(_StockSpy.seen)
    _StockSpy.seen.clear()
    fast = await _decision(api, _FastSpy)
    # then graphql-core resolved each recipient's leaf fields itself without the fast path,
    # and none of them with it: only the fields above the leaves reach it
    assert stock.errors is None and fast.errors is None
    leaves = {
        "RecipientDecision.outcome",
        "RecipientDecision.explanation",
        "RecipientDecision.address",
    }
    assert leaves <= set(stock_seen)
    assert not leaves & set(_FastSpy.seen + _StockSpy.seen)
    assert "Query.evaluateEmailLogging" in _FastSpy.seen + _StockSpy.seen


async def test_a_selection_past_the_builders_bound_is_answered_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given room for one more builder of a whole object, and two selections of the same
    # fields under other names (aliases make selections without end)
    from schema import execution

    monkeypatch.setattr(execution, "_BUILDERS", {})
    monkeypatch.setattr(execution, "_MAX_BUILDERS", 1)
    variables = {"case": "fine"}
    answers = []
    for alias in ("first", "second"):
        query = f"query($case: String!) {{ items(case: $case) {{ {alias}: name count colour }} }}"
        stock = await _run(
            TINY, query, StrawberryGraphQLCoreExecutionContext, variable_values=variables
        )
        fast = await _run(TINY, query, ExecutionContext, variable_values=variables)
        answers.append((_answer(fast), _answer(stock)))
    # then only the first got a builder, and both answer as graphql-core does
    assert len(execution._BUILDERS) == 1
    for fast_answer, stock_answer in answers:
        assert fast_answer == stock_answer
    assert answers[1][0][0] == {
        "items": [
            {"second": "plain", "count": 3, "colour": "BLUE"},
            {"second": "after", "count": 3, "colour": "BLUE"},
        ]
    }


class _Watched(ExecutionContext):
    """The fast executor, with a weak reference to each of its instances."""

    made: ClassVar[list[Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        type(self).made.append(weakref.ref(self))


async def test_an_execution_and_its_variables_are_freed_without_the_collector(api: Api) -> None:
    # given the collector off, and a decision run through the fast executor
    _Watched.made.clear()
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = await _decision(api, _Watched)
        # then once it has answered, its execution context (and with it the request's
        # variables and results) is gone: nothing keeps it in a cycle for the collector
        assert result.errors is None
        assert _Watched.made and all(ref() is None for ref in _Watched.made)
    finally:
        if enabled:
            gc.enable()
