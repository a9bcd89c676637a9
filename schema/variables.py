"""A request's variables coerced by plans made once per input type.

graphql-core coerces a variable's value by walking its type for every value: for each
string of a list it asks again whether the type is non-null, a list, an input object or a
leaf, and before that it walks the whole value once more to check that it is not nested
too deeply. For a batch of a hundred emails that was a fifth of the request. A *plan* is
that walk done once, for one input type: nested functions that know at each level what
to expect, checking only what graphql-core's coercion checks (``coerce_input_value``).

A plan answers only where it is sure to answer as graphql-core does: the value of every
variable given, of the shapes that JSON gives (a dict for an input object, a list for a
list), every field known and every required one there. Anything else (a missing
variable, a default, a value that does not coerce, a oneOf input, an input type that
contains itself) raises ``_Unsure``, and the request's variables go to graphql-core's
own ``get_variable_values``, which coerces or says precisely what is wrong. A plan never
goes deeper than its type, so graphql-core's depth check has nothing to find.
tests/schema/test_variables.py holds plans to graphql-core's coercion.

graphql-core has no hook for this: ``Executor.build`` calls its module's
``get_variable_values``, which ``install`` replaces with ``get_variable_values`` below.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    VariableDefinitionNode,
    is_required_input_field,
)
from graphql.execution import executor, values
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.utilities.coerce_input_value import coerce_default_value

Plan = Callable[[Any], Any]
_graphql_core_s = values.get_variable_values
# Plans by schema, then by the printed type ("[EmailInput!]!"): graphql-core makes new
# list and non-null wrappers for every request, so the wrappers cannot be the keys.
_PLANS: weakref.WeakKeyDictionary[GraphQLSchema, dict[str, Plan]] = weakref.WeakKeyDictionary()


class _Unsure(Exception):
    """The value is not one that a plan is sure of: graphql-core must coerce it."""


def get_variable_values(
    schema: GraphQLSchema,
    var_def_nodes: Collection[VariableDefinitionNode],
    inputs: dict[str, Any],
    max_errors: int | None = None,
    hide_suggestions: bool = False,
) -> VariableValues | list[GraphQLError]:
    """graphql-core's ``get_variable_values``, by plans where they are sure."""
    try:
        return _planned(schema, var_def_nodes, inputs)
    except _Unsure:
        return _graphql_core_s(
            schema, var_def_nodes, inputs, max_errors=max_errors, hide_suggestions=hide_suggestions
        )


def install() -> None:
    """Have graphql-core's executor coerce variables with ``get_variable_values``."""
    executor.get_variable_values = get_variable_values  # type: ignore[attr-defined]


def _planned(
    schema: GraphQLSchema, var_def_nodes: Collection[VariableDefinitionNode], inputs: dict[str, Any]
) -> VariableValues:
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for node in var_def_nodes:
        signature = get_variable_signature(schema, node)
        if isinstance(signature, GraphQLError):
            raise _Unsure
        value = inputs.get(signature.name, Undefined)
        if value is Undefined:
            raise _Unsure  # a default, or nothing: graphql-core's rules
        sources[signature.name] = VariableValueSource(signature, value)
        coerced[signature.name] = plan_for(schema, signature.type)(value)
    return VariableValues(sources, coerced)


def plan_for(schema: GraphQLSchema, type_: GraphQLInputType) -> Plan:
    """The plan that coerces values of ``type_``, made the first time it is asked for."""
    plans = _PLANS.get(schema)
    if plans is None:
        plans = _PLANS[schema] = {}
    key = str(type_)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _plan(type_, frozenset())
    return plan


def _unsure(value: Any) -> Any:
    raise _Unsure


def _plan(type_: GraphQLInputType, within: frozenset[str]) -> Plan:
    """``within``: the input objects that this type is a part of (one that contains itself
    is left to graphql-core)."""
    if isinstance(type_, GraphQLNonNull):
        inner = _plan(type_.of_type, within)

        def non_null(value: Any) -> Any:
            if value is None:
                raise _Unsure
            return inner(value)

        return non_null
    if isinstance(type_, GraphQLList):
        return _list(type_.of_type, within)
    if isinstance(type_, GraphQLInputObjectType):
        if type_.is_one_of or type_.name in within:
            return _unsure
        return _input_object(type_, within | {type_.name})
    return _leaf(type_)


def _list(item_type: GraphQLInputType, within: frozenset[str]) -> Plan:
    non_null = isinstance(item_type, GraphQLNonNull)
    leaf = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    if leaf is GraphQLString or leaf is GraphQLBoolean:
        # A list of strings (most of an email), checked in one pass: each item of its type
        # (or null where the items may be), and copied, as graphql-core makes a new list.
        kinds = frozenset({str if leaf is GraphQLString else bool})
        allowed = kinds if non_null else kinds | {type(None)}

        def leaves(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not list or not allowed.issuperset(map(type, value)):
                raise _Unsure
            return list(value)

        return leaves
    item = _plan(item_type, within)

    def as_list(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not list:
            raise _Unsure  # graphql-core takes one value as a list of one
        return [item(v) for v in value]

    return as_list


def _input_object(type_: GraphQLInputObjectType, within: frozenset[str]) -> Plan:
    # A field's default coerced once, here (graphql-core memoizes it on the field too:
    # every request that omits the field gets this same value, as from graphql-core).
    fields = [
        (
            name,
            field.out_name or name,
            _plan(field.type, within),
            is_required_input_field(field),
            coerce_default_value(field),
        )
        for name, field in type_.fields.items()
    ]
    names = frozenset(type_.fields)
    out_type = type_.out_type

    def as_object(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not dict or not names.issuperset(value):
            raise _Unsure
        coerced: dict[str, Any] = {}
        for name, out_name, plan, required, default in fields:
            given = value.get(name, Undefined)
            if given is not Undefined:
                coerced[out_name] = plan(given)
            elif required:
                raise _Unsure
            elif default is not Undefined:
                coerced[out_name] = default
        return out_type(coerced)

    return as_object


def _leaf(type_: GraphQLInputType) -> Plan:
    # String and Boolean take their own values as they are (coerce_string, coerce_boolean).
    if type_ is GraphQLString or type_ is GraphQLBoolean:
        kind = str if type_ is GraphQLString else bool

        def as_is(value: Any) -> Any:
            if value is None or type(value) is kind:
                return value
            raise _Unsure

        return as_is
    coerce = type_.coerce_input_value  # type: ignore[union-attr]

    def leaf(value: Any) -> Any:
        if value is None:
            return None
        try:
            return coerce(value)
        except Exception as error:  # graphql-core's coercion catches every error alike
            raise _Unsure from error

    if not isinstance(type_, GraphQLEnumType):
        return leaf
    # An enum's member by name, remembered (Strawberry's coercion looks the name up among
    # the values, then makes the member): only names that coerce are kept, so no more
    # than the enum has.
    members: dict[str, Any] = {}

    def member(value: Any) -> Any:
        if type(value) is not str:
            return leaf(value)
        found = members.get(value)
        if found is None:
            found = members[value] = leaf(value)
        return found

    return member
