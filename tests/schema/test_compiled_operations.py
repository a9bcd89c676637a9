"""A plan (schema/compiled_operations.py) answers exactly as stock Strawberry execution does.

The property: operations generated over the real schema (fields, arguments literal and in
variables, aliases, named and inline fragments, ``__typename``, the odd directive, nulls
and errors from resolvers: unknown ids, bad cursors, invalid addresses, a member asking
for what only a super admin sees, no viewer at all) answer the same data and the same
errors (messages, paths, locations) through ``execute_operation`` (the plan, stock
execution where it gives up) as through stock execution alone, against a seeded account.
And where stock execution answers without an error, the plan ran through: a plan covers
what it claims to. The examples: NEVERLOG_PLAN_EXAMPLES, else 50 in the long profile (make
test-all) and 25 in the short one (make test)."""

from __future__ import annotations

import asyncio
import enum
import gc
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    execute,
    get_named_type,
    get_operation_ast,
    get_variable_values,
    is_abstract_type,
    parse,
    validate,
)
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from schema import build_schema, graphql_schema
from schema.compiled_operations import (
    MAX_PLANNED_FIELDS,
    PlainVariables,
    Plan,
    Unplanned,
    _Compiler,
    compile_operation,
    count_objects,
    execute_operation,
    execute_stock,
    run_plan,
)
from schema.context import SIGNED_IN, Context
from tenancy.account_limits import AccountLimits
from tenancy.tokens import authenticate
from tests.api.decision_helpers import EVALUATE, RUN_SIMULATION, email
from tests.helpers import Api, add_entries, assert_no_user_errors
from tests.profiles import examples

SCHEMA = graphql_schema()
EXECUTION_CONTEXT = build_schema().execution_context_class
EXAMPLES = int(os.environ.get("NEVERLOG_PLAN_EXAMPLES") or examples(50, 25))

ADDRESSES = [
    "jane@lawfirm.com",
    "Bob Smith <bob@customer.com>",
    "ann@acme-corp.com",
    "not an address",
    "x@sub.lawfirm.com",
]


@dataclass
class Seeded:
    """What the generated operations may name: ids and cursors that exist, and some that
    do not."""

    ids: list[str]
    strings: list[str]
    viewers: dict[str, Any] = field(default_factory=dict)


# -- Generating operations over the schema ----------------------------------------------


class _Writer:
    """One operation being written: its variables and fragments, and fresh names."""

    def __init__(self, draw: Callable[..., Any], seeded: Seeded) -> None:
        self.draw = draw
        self.seeded = seeded
        self.variables: dict[str, tuple[str, Any]] = {}  # name -> (type, value)
        self.fragments: list[str] = []
        self.count = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    # values ---------------------------------------------------------------------------

    def value(self, type_: GraphQLInputType, depth: int = 0, nullable: bool = True) -> Any:
        """A JSON value of ``type_`` (None stands for null where it may be null)."""
        if isinstance(type_, GraphQLNonNull):
            return self.value(type_.of_type, depth, nullable=False)
        if nullable and self.draw(st.integers(0, 14)) == 0:
            return None
        if isinstance(type_, GraphQLList):
            return [
                self.value(type_.of_type, depth + 1) for _ in range(self.draw(st.integers(0, 3)))
            ]
        if isinstance(type_, GraphQLEnumType):
            return self.draw(st.sampled_from(sorted(type_.values)))
        if isinstance(type_, GraphQLInputObjectType):
            fields: dict[str, Any] = {}
            for name, input_field in type_.fields.items():
                required = isinstance(input_field.type, GraphQLNonNull)
                if required or (depth < 2 and self.draw(st.booleans())):
                    fields[name] = self.value(input_field.type, depth + 1)
            return fields
        assert isinstance(type_, GraphQLScalarType)
        name = type_.name
        if name == "Int":
            return self.draw(st.sampled_from([0, 1, 2, 3, 5, 100, 101, -1]))
        if name == "Boolean":
            return self.draw(st.booleans())
        if name == "ID":
            return self.draw(st.sampled_from(self.seeded.ids))
        if name == "Float":
            return self.draw(st.sampled_from([0.0, 1.5]))
        return self.draw(st.sampled_from(self.seeded.strings + ADDRESSES))

    def literal(self, type_: GraphQLInputType, value: Any) -> str:
        if value is None:
            return "null"
        named: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(named, GraphQLList):
            return "[" + ", ".join(self.literal(named.of_type, v) for v in value) + "]"
        if isinstance(named, GraphQLEnumType):
            return str(value)
        if isinstance(named, GraphQLInputObjectType):
            inner = ", ".join(
                f"{k}: {self.literal(named.fields[k].type, v)}" for k, v in value.items()
            )
            return "{" + inner + "}"
        return json.dumps(value)

    def argument(self, name: str, type_: GraphQLInputType) -> str:
        value = self.value(type_)
        if self.draw(st.booleans()):  # in a variable
            variable = self.fresh("v")
            self.variables[variable] = (str(type_), value)
            return f"{name}: ${variable}"
        return f"{name}: {self.literal(type_, value)}"

    # selections -----------------------------------------------------------------------

    def selection(self, type_: GraphQLNamedType, depth: int, alias_all: bool = False) -> str:
        """A selection set on ``type_`` (an object, an interface or a union); with
        ``alias_all``, every field of this level aliased (fragments on the possible types
        of an abstract type would otherwise select one response name with two types)."""
        parts: list[str] = []
        if is_abstract_type(type_):
            parts.append("__typename")
            for possible in SCHEMA.get_possible_types(type_):
                if self.draw(st.booleans()):
                    selection = self.selection(possible, depth, alias_all=True)
                    parts.append(f"... on {possible.name} {selection}")
            if hasattr(type_, "fields") and self.draw(st.booleans()):
                parts.extend(self.fields(type_, depth, alias_all=True))
            return "{ " + " ".join(parts) + " }"
        assert isinstance(type_, GraphQLObjectType)
        parts.extend(self.fields(type_, depth, alias_all))
        shape = self.draw(st.integers(0, 5))
        if shape == 0:  # a named fragment holding more of the same type's fields
            name = self.fresh("F")
            self.fragments.append(
                f"fragment {name} on {type_.name} {{ {' '.join(self.fields(type_, depth, alias_all))} }}"
            )
            parts.append(f"...{name}")
        elif shape == 1:
            parts.append(
                f"... on {type_.name} {{ {' '.join(self.fields(type_, depth, alias_all))} }}"
            )
        elif shape == 2:
            parts.append(f"... {{ {' '.join(self.fields(type_, depth, alias_all))} }}")
        elif shape == 3 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"__typename @include(if: {json.dumps(self.draw(st.booleans()))})")
        return "{ " + " ".join(parts) + " }"

    def fields(self, type_: Any, depth: int, alias_all: bool = False) -> list[str]:
        names = sorted(type_.fields)
        if self.draw(st.integers(0, 3)) > 0:
            # Mostly fields of object types: an interface or a union (node, nodes) has no
            # plan, and an operation that selects one anywhere runs on stock execution.
            plain = [n for n in names if not is_abstract_type(get_named_type(type_.fields[n].type))]
            names = plain or names
        chosen = self.draw(
            st.lists(
                st.sampled_from(names), min_size=1, max_size=4 if depth < 1 else 3, unique=True
            )
        )
        parts = []
        if self.draw(st.booleans()):
            parts.append("__typename")
        for name in chosen:
            written = self.field(name, type_.fields[name], depth, alias_all)
            if written is not None:
                parts.append(written)
        return parts or ["__typename"]

    def field(
        self, name: str, definition: GraphQLField, depth: int, alias_all: bool = False
    ) -> str | None:
        output = get_named_type(definition.type)
        leaf = not isinstance(output, GraphQLObjectType) and not is_abstract_type(output)
        if not leaf and depth >= 3:
            return None
        arguments = []
        for arg_name, argument in definition.args.items():
            required = isinstance(argument.type, GraphQLNonNull)
            if required or self.draw(st.integers(0, 2)) == 0:
                arguments.append(self.argument(arg_name, argument.type))
        # Fields with arguments are always aliased, uniquely, so that fragments never
        # select one response name with two sets of arguments.
        alias = ""
        if arguments or alias_all or self.draw(st.integers(0, 3)) == 0:
            alias = self.fresh("a") + ": "
        written = alias + name + (f"({', '.join(arguments)})" if arguments else "")
        if not leaf:
            written += " " + self.selection(output, depth + 1)
        return written


@st.composite
def operations(draw: Callable[..., Any], seeded: Seeded) -> tuple[str, dict[str, Any], str]:
    writer = _Writer(draw, seeded)
    root = writer.selection(SCHEMA.query_type, 0)  # type: ignore[arg-type]
    header = ""
    if writer.variables:
        header = "(" + ", ".join(f"${n}: {t}" for n, (t, _) in writer.variables.items()) + ")"
    text = "\n".join([f"query Generated{header} {root}", *writer.fragments])
    variables = {n: v for n, (_, v) in writer.variables.items()}
    viewer = draw(st.sampled_from(sorted(seeded.viewers)))
    return text, variables, viewer


# -- Running both ------------------------------------------------------------------------


def _answer(result: ExecutionResult) -> tuple[Any, list[str]]:
    """Data, and the errors (in any order: siblings fail in the order they finish)."""
    return result.data, sorted(json.dumps(e.formatted, sort_keys=True) for e in result.errors or ())


async def _seed(api: Api) -> Seeded:
    admin = await api.new_account()
    member = await api.add_member(admin)
    account_entries = await add_entries(
        api, admin, ["*@lawfirm.com", "ceo@acme-corp.com"], scope="ACCOUNT"
    )
    personal = await add_entries(api, member, ["bob@customer.com"])
    assert_no_user_errors(account_entries)
    assert_no_user_errors(personal)
    ran = await api.data(
        RUN_SIMULATION,
        {"input": {"name": "first", "email": email("CRM", to=ADDRESSES[:3])}},
        token=admin.token,
    )
    simulation = ran["runEmailLoggingSimulation"]["simulation"]["id"]
    decided = await api.data(EVALUATE, {"email": email("CRM", to=ADDRESSES)}, token=member.token)
    assert decided["evaluateEmailLogging"]["recipients"]
    ids = [
        admin.user_id,
        member.user_id,
        admin.account_id,
        simulation,
        *(e["id"] for e in account_entries["added"]),
        "VXNlcjpub3RoaW5n",
        "not an id",
    ]
    viewers = {
        "admin": await authenticate(api.db, admin.token),
        "member": await authenticate(api.db, member.token),
        "nobody": None,
    }
    return Seeded(ids=ids, strings=["", "YWZ0ZXI=", "law"], viewers=viewers)


@pytest.fixture
async def seeded(api: Api) -> Seeded:
    return await _seed(api)


def _context(api: Api, seeded: Seeded, viewer: str) -> Context:
    signed_in = {SIGNED_IN: seeded.viewers[viewer]}
    return Context(db=api.db, limits=AccountLimits(), scope=signed_in)


async def _stock(api: Api, seeded: Seeded, viewer: str, document: Any, variables: Any) -> Any:
    return await execute_stock(
        SCHEMA,
        document,
        context=_context(api, seeded, viewer),
        variables=variables,
        operation_name=None,
        execution_context_class=EXECUTION_CONTEXT,
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No shrinking: a failing operation is printed whole, and shrinking one that runs
    # against a database takes minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_a_plan_answers_as_stock_execution_does(
    api: Api, seeded: Seeded, data: st.DataObject
) -> None:
    # given an operation generated over the schema, run by a viewer (or none)
    text, variables, viewer = data.draw(operations(seeded))
    document = parse(text)
    assert validate(SCHEMA, document) == [], text
    operation = get_operation_ast(document)
    assert operation is not None
    plan = compile_operation(SCHEMA, document, operation)
    # when it runs on stock execution, and through its plan (stock where the plan gives up)
    stock = await _stock(api, seeded, viewer, document, variables)
    gave_up: list[bool] = []
    planned = await execute_operation(
        plan,
        SCHEMA,
        document,
        context=_context(api, seeded, viewer),
        variables=variables,
        operation_name=None,
        execution_context_class=EXECUTION_CONTEXT,
        on_stock=lambda: gave_up.append(True),
    )
    # then where the plan answered, its answer is stock execution's: data, and errors with
    # their messages and paths (a difference is checked once more, so that a database
    # error of one run alone, which a loaded machine sometimes gives, does not count);
    # where it gave up or there is none, execute_operation answered with stock execution
    # itself
    event("no plan" if plan is None else "plan gave up" if gave_up else "plan answered")
    if plan is not None and not gave_up:
        if _answer(planned) != _answer(stock):
            stock = await _stock(api, seeded, viewer, document, variables)
        assert _answer(planned) == _answer(stock), text
    # and a plan gives up only where stock execution answers with an error: it covers
    # what it claims to (checked once more, as above)
    if plan is not None and gave_up and not stock.errors:
        await run_plan(plan, context=_context(api, seeded, viewer), variables=variables)


# -- The operations that carry load are planned ------------------------------------------

LOAD: dict[str, tuple[str, dict[str, Any]]] = {
    "evaluateEmailLogging": (EVALUATE, {"email": email("CRM", to=ADDRESSES, cc=["c@d.com"])}),
    "evaluateEmailLoggingBatch": (
        EVALUATE.replace("$email: EmailInput!", "$emails: [EmailInput!]!").replace(
            "evaluateEmailLogging(email: $email)", "evaluateEmailLoggingBatch(emails: $emails)"
        ),
        {"emails": [email("CRM", to=ADDRESSES), email("SALES_EXTENSION", to=ADDRESSES[:1])]},
    ),
    "viewer": (
        "{ viewer { user { id email name role active } account { id name } } }",
        {},
    ),
    "a page of entries": (
        """query($first: Int) { neverLogList(scope: ACCOUNT) { count limit remaining
            entries(first: $first) { edges { cursor node { id pattern kind scope createdAt } }
            pageInfo { hasNextPage endCursor } totalCount } } }""",
        {"first": 10},
    ),
}


@pytest.mark.parametrize("name", sorted(LOAD))
async def test_the_operations_that_carry_load_run_on_their_plans(
    api: Api, seeded: Seeded, name: str
) -> None:
    # given one of the operations that carry load
    text, variables = LOAD[name]
    document = parse(text)
    assert validate(SCHEMA, document) == []
    operation = get_operation_ast(document)
    assert operation is not None
    # when it is compiled and run on its plan
    plan = compile_operation(SCHEMA, document, operation)
    assert plan is not None, f"{name} has no plan"
    planned = await run_plan(plan, context=_context(api, seeded, "admin"), variables=variables)
    # then it runs through, and answers as stock execution does
    stock = await _stock(api, seeded, "admin", document, variables)
    assert stock.errors is None
    assert _answer(planned) == _answer(stock)


def _planned_evaluation() -> tuple[DocumentNode, Plan]:
    """The load's evaluateEmailLogging, parsed, and its plan."""
    document = parse(LOAD["evaluateEmailLogging"][0])
    operation = get_operation_ast(document)
    assert operation is not None
    plan = compile_operation(SCHEMA, document, operation)
    assert plan is not None
    return document, plan


async def test_a_resolver_error_gives_the_plan_up_for_stock_executions_answer(
    api: Api, seeded: Seeded
) -> None:
    # given a planned query whose resolver fails (an address list too long to decide)
    document, plan = _planned_evaluation()
    variables = {"email": email("CRM", to=[f"r{n}@x.com" for n in range(10_001)])}
    # when the plan runs, and when the operation runs
    with pytest.raises(Exception) as raised:
        await run_plan(plan, context=_context(api, seeded, "admin"), variables=variables)
    answered = await execute_operation(
        plan,
        SCHEMA,
        document,
        context=_context(api, seeded, "admin"),
        variables=variables,
        operation_name=None,
        execution_context_class=EXECUTION_CONTEXT,
    )
    # then the plan gives up, and the answer is stock execution's, with its error
    assert not isinstance(raised.value, Unplanned) or raised.value is not None
    stock = await _stock(api, seeded, "admin", document, variables)
    assert stock.errors and _answer(answered) == _answer(stock)


async def test_a_plan_cancelled_before_its_resolvers_start_leaves_none_unawaited(
    api: Api, seeded: Seeded
) -> None:
    # given a planned query whose resolver is a coroutine function (Strawberry's wrapper)
    _, plan = _planned_evaluation()
    variables = {"email": email("CRM", to=["bob@initech.de"])}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # when its run is cancelled (a client gone, a deadline) once the resolver's
        # coroutine is made but before it has started
        running = asyncio.create_task(
            run_plan(plan, context=_context(api, seeded, "admin"), variables=variables)
        )
        await asyncio.sleep(0)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        del running
        gc.collect()
    # then no coroutine was left unawaited (a RuntimeWarning at whatever runs next)
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


def test_a_text_too_large_to_plan_runs_on_stock_execution() -> None:
    # given a query of more fields than a plan holds, and one of exactly as many
    def wide(count: int) -> Any:
        fields = " ".join(f"a{n}: id" for n in range(count - 2))
        document = parse(f"{{ viewer {{ user {{ {fields} }} }} }}")
        return document, get_operation_ast(document)

    over, at = wide(MAX_PLANNED_FIELDS + 1), wide(MAX_PLANNED_FIELDS)
    # when they are compiled
    # then the first has no plan (stock execution runs it), the second has one
    assert compile_operation(SCHEMA, *over) is None
    assert compile_operation(SCHEMA, *at) is not None


# -- Variables coerced plainly are coerced as graphql-core coerces them ------------------

# Every input type that an argument or an input field of the schema takes (a variable may
# be of any of them), once each.
INPUT_TYPES: list[GraphQLInputType] = list(
    {
        str(input_type): input_type
        for type_ in SCHEMA.type_map.values()
        if not type_.name.startswith("__")
        for input_type in (
            [a.type for f in type_.fields.values() for a in f.args.values()]
            if isinstance(type_, GraphQLObjectType)
            else [f.type for f in type_.fields.values()]
            if isinstance(type_, GraphQLInputObjectType)
            else []
        )
    }.values()
)
# What may stand where a value is expected: every JSON shape, nulls, the edges of Int,
# enum names that are not a member's, and a value nested past any depth.
ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    1.0,
    1.5,
    float("inf"),
    True,
    False,
    "",
    "x",
    "LOGGED",
    "CRM",
    "crm",
    "not a member",
    [],
    ["x"],
    [None],
    {},
    {"to": []},
    {"unknown": 1},
    [[[[[[[[[["deep"]]]]]]]]]],
]


def _odd(draw: Callable[..., Any], type_: GraphQLInputType, value: Any, depth: int = 0) -> Any:
    """``value`` with a few of its parts changed for what the type does not expect (or
    may): a null, another JSON shape, a field left out or added, a single value for a
    list, a value nested deeper."""
    named: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    leaf = isinstance(named, GraphQLScalarType | GraphQLEnumType)
    choice = draw(st.integers(0, 2 if leaf else 9))
    if choice == 0:
        return draw(st.sampled_from(ODD_VALUES))
    if choice == 1 and depth < 3:
        return [value]  # a single value stands for a list of one
    if isinstance(named, GraphQLList) and isinstance(value, list) and value:
        index = draw(st.integers(0, len(value) - 1))
        value = list(value)
        value[index] = _odd(draw, named.of_type, value[index], depth + 1)
        return value
    if isinstance(named, GraphQLInputObjectType) and isinstance(value, dict):
        value = dict(value)
        action = draw(st.integers(0, 3))
        if action == 0 and value:
            del value[draw(st.sampled_from(sorted(value)))]  # a field left out
        elif action == 1:
            value[draw(st.sampled_from(["extra", "To", "sender_id"]))] = "x"  # not a field
        else:
            name = draw(st.sampled_from(sorted(named.fields)))
            value[name] = _odd(draw, named.fields[name].type, value.get(name), depth + 1)
        return value
    return value


@st.composite
def variables_of_input_types(
    draw: Callable[..., Any],
) -> tuple[str, dict[str, Any]]:
    """Variable definitions of the schema's input types, and values for them: valid ones
    (as the operations above draw them), some of them changed (_odd), some left out."""
    writer = _Writer(draw, Seeded(ids=["VXNlcjox", "not an id"], strings=["", "x@y.com"]))
    count = draw(st.integers(1, 3))
    definitions, values = [], {}
    for n in range(count):
        type_ = draw(st.sampled_from(INPUT_TYPES))
        if draw(st.integers(0, 3)) == 0 and isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type  # the same type, nullable
        definitions.append(f"$v{n}: {type_}")
        value = writer.value(type_)
        shape = draw(st.integers(0, 5))
        if shape == 0:
            continue  # not given
        if shape <= 2:
            value = _odd(draw, type_, value)
        values[f"v{n}"] = value
    return f"query Q({', '.join(definitions)}) {{ __typename }}", values


@settings(max_examples=examples(full=2_000, short=300), deadline=None)
@given(variables_of_input_types())
# the edges every run meets, beside the drawn ones
@example(("query Q($v: [String!]) { __typename }", {"v": ["a@b.com", None]}))
@example(("query Q($v: [String!]!) { __typename }", {"v": ["a@b.com", 1]}))
@example(("query Q($v: [String!]!) { __typename }", {"v": "a@b.com"}))
@example(("query Q($v: [ID!]) { __typename }", {"v": [1]}))
@example(("query Q($v: Int) { __typename }", {"v": True}))
@example(("query Q($v: Int) { __typename }", {"v": 2**31}))
@example(("query Q($v: Int) { __typename }", {"v": 1.0}))
@example(("query Q($v: Boolean!) { __typename }", {"v": 0}))
@example(("query Q($v: String) { __typename }", {}))
@example(("query Q($v: String!) { __typename }", {}))
@example(("query Q($v: NeverLogScope!) { __typename }", {"v": "account"}))
@example(("query Q($v: EmailInput!) { __typename }", {"v": {"channel": "CRM"}}))
@example(("query Q($v: EmailInput!) { __typename }", {"v": {"channel": "CRM", "to": [], "x": 1}}))
@example(
    ("query Q($v: EmailInput!) { __typename }", {"v": {"channel": "CRM", "to": [], "cc": None}})
)
@example(
    ("query Q($v: [EmailInput!]!) { __typename }", {"v": [{"channel": "CRM", "to": []}, None]})
)
def test_variables_coerced_plainly_are_what_graphql_core_makes_of_them(
    given_variables: tuple[str, dict[str, Any]],
) -> None:
    # given variables of the schema's input types, valid or not, and their values
    text, variables = given_variables
    document = parse(text)
    operation = get_operation_ast(document)
    assert operation is not None
    plain = PlainVariables.of(SCHEMA, operation)
    assert plain is not None, text  # every input type of the schema is covered
    # when they are coerced plainly, and by graphql-core
    coerced = plain(variables)
    stock = get_variable_values(SCHEMA, operation.variable_definitions or (), variables)
    # then where plain coercion answers, graphql-core coerced them alike (the same
    # values, of the same types, in the same order); where graphql-core refuses them,
    # plain coercion never answers (graphql-core's errors are what the client reads)
    if isinstance(stock, list):
        event("refused by graphql-core")
        assert coerced is None, (text, variables)
        return
    if coerced is None:
        event("left to graphql-core")
        return
    event("coerced plainly")
    assert _typed(coerced.coerced) == _typed(stock.coerced), (text, variables)


def _typed(value: Any) -> Any:
    """A value with the type of each of its parts (1 == 1.0 == True, but not for a client)."""
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value), value)


def test_a_plain_email_batch_is_coerced_without_graphql_core() -> None:
    # given the batch's operation and a batch of plainly valid emails
    text, variables = LOAD["evaluateEmailLoggingBatch"]
    operation = get_operation_ast(parse(text))
    assert operation is not None
    plain = PlainVariables.of(SCHEMA, operation)
    assert plain is not None
    # when they are coerced plainly
    coerced = plain(variables)
    # then they are, as graphql-core coerces them; and a null where an email must be
    # leaves them to graphql-core
    stock = get_variable_values(SCHEMA, operation.variable_definitions or (), variables)
    assert coerced is not None and not isinstance(stock, list)
    assert _typed(coerced.coerced) == _typed(stock.coerced)
    assert plain({"emails": [*variables["emails"], None]}) is None


# -- An object of attributes completes as stock execution does ----------------------------
#
# The real schema's objects of attributes (a decision, a recipient) only ever hold values
# of their fields' types, so the property above never sends the generated completion
# (_object_of_attributes) anything odd. Here a small schema of every kind of leaf, whose
# fields graphql-core's default resolver reads as attributes, is planned as if Strawberry
# read them so, and its objects hold anything: nulls where none may be, values of other
# types (a float or a bool for an Int, a subclass of str, an int past 32 bits, a list or
# a dict for a String), members of the enum, of another enum, or its names.


class _Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class _Other(enum.Enum):
    RED = "red"


class _Text(str):
    pass


COLOR = GraphQLEnumType("Color", {"RED": GraphQLEnumValue(_Color.RED), "GREEN": _Color.GREEN})
INNER = GraphQLObjectType("Inner", {"s": GraphQLField(GraphQLString), "e": GraphQLField(COLOR)})
LEAVES: dict[str, Any] = {
    "s": GraphQLString,
    "sn": GraphQLNonNull(GraphQLString),
    "id": GraphQLID,
    "i": GraphQLInt,
    "inn": GraphQLNonNull(GraphQLInt),
    "b": GraphQLBoolean,
    "bn": GraphQLNonNull(GraphQLBoolean),
    "f": GraphQLFloat,
    "e": COLOR,
    "en": GraphQLNonNull(COLOR),
    "l": GraphQLList(GraphQLString),
    "inner": INNER,
    "inners": GraphQLList(GraphQLNonNull(INNER)),
}
THING = GraphQLObjectType("Thing", {name: GraphQLField(t) for name, t in LEAVES.items()})
ATTRIBUTES_SCHEMA = GraphQLSchema(
    GraphQLObjectType(
        "Query",
        {
            "thing": GraphQLField(THING, resolve=lambda _, info: info.context.thing),
            "things": GraphQLField(
                GraphQLList(GraphQLNonNull(THING)), resolve=lambda _, info: info.context.things
            ),
        },
    )
)
ANY_VALUE = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "x",
            _Text("sub"),
            0,
            -1,
            2**31 - 1,
            2**31,
            -(2**31) - 1,
            1.0,
            1.5,
            float("nan"),
            True,
            False,
            _Color.RED,
            _Color.GREEN,
            _Other.RED,
            "RED",
            [],
            ["a", None],
            {"s": "x"},
            ValueError("a value that is an error"),
        ]
    ),
    st.text(max_size=3),
    st.integers() | st.sampled_from([2**31, -(2**31) - 1, 2**63]),
)


class _AttributesCompiler(_Compiler):
    """Reads every pathless field but the root's as an attribute, as the compiler does
    for Strawberry's basic fields on the real schema."""

    def _reads_attribute(self, parent: GraphQLObjectType, name: str, pathless: bool) -> Any:
        return (getattr, name) if pathless and parent.name != "Query" else (None, "")


# A value of each field's type (what the object mostly holds: an odd value among them
# shows whether that one alone is completed as stock execution completes it).
TYPED: dict[str, Any] = {
    "s": st.text(max_size=3) | st.none(),
    "sn": st.text(max_size=3),
    "id": st.text(max_size=3) | st.none(),
    "i": st.integers(-(2**31), 2**31 - 1) | st.none(),
    "inn": st.integers(-(2**31), 2**31 - 1),
    "b": st.booleans() | st.none(),
    "bn": st.booleans(),
    "f": st.floats(allow_nan=False, allow_infinity=False) | st.none(),
    "e": st.sampled_from([_Color.RED, _Color.GREEN, None]),
    "en": st.sampled_from([_Color.RED, _Color.GREEN]),
    "l": st.lists(st.text(max_size=2) | st.none(), max_size=2) | st.none(),
}


def repeated(objects: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[list[Any]]:
    """Lists of these objects where one may be the very object of another item, next to
    it or apart (a batch's copies of one email's decision)."""
    return objects.flatmap(
        lambda drawn: st.lists(st.sampled_from(drawn), max_size=4) if drawn else st.just([])
    )


@st.composite
def things(draw: Callable[..., Any], names: tuple[str, ...] = tuple(TYPED)) -> Any:
    odd = draw(st.sets(st.sampled_from(names), max_size=2))
    values = {name: draw(ANY_VALUE if name in odd else TYPED[name]) for name in names}
    if names == tuple(TYPED):
        values["inner"] = draw(st.none() | things(("s", "e")))
        values["inners"] = draw(st.none() | repeated(st.lists(things(("s", "e")), max_size=2)))
    return SimpleNamespace(**values)


@st.composite
def attribute_selections(draw: Callable[..., Any]) -> str:
    def fields(names: list[str]) -> str:
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=6, unique=True))
        parts = [f"a_{n}: {n}" if draw(st.booleans()) else n for n in chosen]
        if draw(st.integers(0, 3)) == 0:
            parts.append("__typename")
        if draw(st.integers(0, 3)) == 0:
            parts.append(f"twice_{chosen[0]}: {chosen[0]}")  # one attribute, two names
        return " ".join(
            f"{p} {{ {fields(['s', 'e'])} }}" if p.split(": ")[-1] in ("inner", "inners") else p
            for p in parts
        )

    return f"{{ thing {{ {fields(sorted(LEAVES))} }} things {{ {fields(sorted(LEAVES))} }} }}"


def _thing(**odd: Any) -> Any:
    """An object of well-typed values but ``odd``."""
    typed = {"s": "x", "sn": "y", "id": "1", "i": 1, "inn": -1, "b": True, "bn": False}
    typed |= {"f": 1.5, "e": _Color.RED, "en": _Color.GREEN, "l": ["a"], "inner": None}
    return SimpleNamespace(**(typed | {"inners": []} | odd))


ALL_FIELDS = "s sn id i inn b bn f e en l inner { s e } inners { s e }"
# One object as several items of a list: completed once, counted each time; one that
# gives up gives up wherever it is.
_SAME = _thing(inner=_thing(), inners=[_thing(), _thing()])
_SAME.inners.append(_SAME.inners[0])
_ODD = _thing(i=2**31)
# One object in the lists of two others, apart (a recipient's decision, which policy shares
# between the emails of a batch): completed once for the run, counted each time.
_SHARED = _thing()
_SHARING = [_thing(inners=[_SHARED, _thing()]), _thing(inners=[_thing(), _SHARED, _SHARED])]


@settings(max_examples=examples(full=3_000, short=100), deadline=None)
@given(attribute_selections(), things(), repeated(st.lists(things(), max_size=3)))
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ a: i }} }}", _thing(), [_thing()])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ i }} }}", _thing(i=2**31), [])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ i }} }}", _thing(), [_thing(i=True)])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ b }} }}", _thing(inn=None), [])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ b }} }}", _thing(s=_Text("t"), b=1), [])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ e }} }}", _thing(e=_Other.RED), [])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ e }} }}", _thing(e="RED"), [])
@example("{ thing { s __typename } things { e } }", _thing(), [_thing(e=None)])
@example(
    f"{{ thing {{ s }} things {{ {ALL_FIELDS} }} }}", _thing(), [_SAME, _SAME, _thing(), _SAME]
)
@example("{ thing { s } things { i } }", _thing(), [_thing(), _ODD, _ODD])
@example(f"{{ thing {{ {ALL_FIELDS} }} things {{ {ALL_FIELDS} }} }}", _SHARING[0], _SHARING)
async def test_an_object_of_attributes_completes_as_stock_execution_does(
    text: str, thing: Any, more: list[Any]
) -> None:
    # given a selection of attributes of every kind of leaf, and objects holding anything
    document = parse(text)
    assert validate(ATTRIBUTES_SCHEMA, document) == [], text
    operation = get_operation_ast(document)
    assert operation is not None
    query = ATTRIBUTES_SCHEMA.query_type
    assert query is not None
    compiler = _AttributesCompiler(ATTRIBUTES_SCHEMA, {})
    fields = compiler.fields(query, [operation.selection_set])
    plan = Plan(ATTRIBUTES_SCHEMA, document, operation, {}, query, fields, compiler.size)
    root = SimpleNamespace(thing=thing, things=more)
    # when stock execution (graphql-core's) answers, and the plan
    stock = execute(ATTRIBUTES_SCHEMA, document, context_value=root)
    assert isinstance(stock, ExecutionResult)
    counted: list[int] = []
    try:
        planned: ExecutionResult | None = await run_plan(
            plan, context=root, variables={}, on_objects=counted.append
        )
    except Exception:  # given up: stock execution answers (execute_operation)
        planned = None
    # then the plan answers exactly stock execution's data, and its objects, where stock
    # execution answers without an error; and gives up where it answers with one
    if stock.errors:
        assert planned is None, (text, stock.errors, planned)
    else:
        assert planned is not None, text
        assert _typed(planned.data) == _typed(stock.data), text
        assert counted in ([], [count_objects(stock.data)])
