"""schema/variables.py coerces a request's variables exactly as graphql-core does, for any
value a client may send to any input type of the schema: it replaces graphql-core's
coercion on the hot path, so this is what allows it to stay."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
    parse,
)
from graphql.execution import executor, values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema import build_schema
from schema import variables as planned
from tests.helpers import Api
from tests.profiles import examples

SCHEMA = build_schema()._schema
INPUTS = sorted(
    name
    for name, type_ in SCHEMA.type_map.items()
    if isinstance(type_, GraphQLInputObjectType) and not name.startswith("__")
)
# Wrappers as operations declare them.
SHAPES = ["{}", "{}!", "[{}!]!", "[{}]"]

junk = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4)


def values_of(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for ``type_``: mostly of its shape, now and then anything at all."""
    if isinstance(type_, GraphQLNonNull):
        return values_of(type_.of_type, depth) | st.none()
    if isinstance(type_, GraphQLList):
        item = values_of(type_.of_type, depth + 1)
        return st.lists(item, max_size=3) | item
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 3:
            return st.none() | st.just({})
        fields = {name: values_of(f.type, depth + 1) for name, f in type_.fields.items()}
        required = {
            name: strategy
            for name, strategy in fields.items()
            if isinstance(type_.fields[name].type, GraphQLNonNull)
        }
        shaped = st.fixed_dictionaries(
            required, optional={k: v for k, v in fields.items() if k not in required}
        )
        strays = st.dictionaries(st.sampled_from([*fields, "unknown"]), junk, max_size=2)
        return shaped | (st.tuples(shaped, strays).map(lambda pair: {**pair[0], **pair[1]})) | junk
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(list(type_.values)) | junk
    if type_.name == "Boolean":
        return st.booleans() | junk
    if type_.name == "Int":
        return st.integers(-(2**32), 2**32) | junk
    return st.text(max_size=6) | junk


def variable_definitions(declared: str) -> Any:
    document = parse(f"query Q($v: {declared}) {{ __typename }}")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.variable_definitions


def outcome(result: Any) -> Any:
    """What a caller of get_variable_values sees: the coerced values, or the errors."""
    if isinstance(result, list):
        return [e.message if isinstance(e, GraphQLError) else e for e in result]
    return (result.coerced, {name: s.value for name, s in result.sources.items()})


@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=examples(60, 10), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_plan_coerces_every_value_as_graphql_core_does(name: str, shape: str, data: Any) -> None:
    declared = shape.format(name)
    nodes = variable_definitions(declared)
    type_ = SCHEMA.type_map[name]
    assert isinstance(type_, GraphQLInputObjectType)
    wrapped: GraphQLInputType = type_
    if shape.startswith("["):
        wrapped = GraphQLList(GraphQLNonNull(type_) if "!]" in shape else type_)
    if shape.endswith("!"):
        wrapped = GraphQLNonNull(wrapped)
    inputs = data.draw(st.fixed_dictionaries({}, optional={"v": values_of(wrapped)}))
    ours = planned.get_variable_values(SCHEMA, nodes, inputs, max_errors=50)
    theirs = values.get_variable_values(SCHEMA, nodes, inputs, max_errors=50)
    assert outcome(ours) == outcome(theirs)


def test_a_batch_of_emails_is_coerced_by_a_plan_not_by_graphql_core() -> None:
    emails = [
        {
            "channel": "SALES_EXTENSION",
            "to": ["jane@lawfirm.com", "Bob <bob@northwind.com>"],
            "cc": None,
            "inReplyTo": {"to": ["ann@contoso.com"]},
        }
    ] * 100
    nodes = variable_definitions("[EmailInput!]!")
    result = planned._planned(SCHEMA, nodes, {"v": emails})
    assert outcome(result) == outcome(values.get_variable_values(SCHEMA, nodes, {"v": emails}))
    assert result.coerced["v"][0]["channel"].name == "SALES_EXTENSION"


def test_a_value_of_another_shape_is_left_to_graphql_core_which_names_the_fault() -> None:
    nodes = variable_definitions("[EmailInput!]!")
    given_ = {"v": [{"channel": "SALES_EXTENSION", "to": ["jane@lawfirm.com"], "too": []}]}
    with pytest.raises(planned._Unsure):
        planned._planned(SCHEMA, nodes, given_)
    (error,) = outcome(planned.get_variable_values(SCHEMA, nodes, given_))
    assert "'too'" in error and "EmailInput" in error


def test_the_executor_coerces_with_the_plans_once_the_schema_is_built() -> None:
    assert executor.get_variable_values is planned.get_variable_values


async def test_a_batch_through_the_api_never_reaches_graphql_core_s_coercion(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("graphql-core coerced the variables")

    monkeypatch.setattr(planned, "_graphql_core_s", refused)
    admin = await api.new_account()
    email = {"channel": "CRM", "to": ["jane@lawfirm.com"], "existingContacts": []}
    data = await api.data(
        "query B($e: [EmailInput!]!) { evaluateEmailLoggingBatch(emails: $e) { loggedCount } }",
        {"e": [email] * 3},
        token=admin.token,
    )
    assert data == {"evaluateEmailLoggingBatch": [{"loggedCount": 1}] * 3}
