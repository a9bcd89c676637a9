"""How a query runs: Strawberry's execution context for graphql-core, with a fast path for
the fields that make up most of an answer.

A decision on an email of 10 recipients has more than a hundred leaf fields (address,
outcome, the flags, the explanation), each a plain attribute of a value that the field
above returned. graphql-core executes every field alike: it builds a resolve info, calls
Strawberry's resolver, asks whether the result is awaitable, then completes it through
the type's wrappers; that was most of the time GraphQL added to a decision. A *plain leaf
field* (a scalar or enum, possibly non-null, with no resolver, permission, extension or
argument of its own) needs only its attribute read and serialized, and that is what the
fast path does. Any other field, and any value that does not serialize, take graphql-core's
own path, which raises the errors the specification asks for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeGuard

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
)
from graphql.pyutils import is_awaitable as is_awaitable_value
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# A plain leaf field: how to read its value, how to serialize it, and whether it may be
# null; None for any other field. Known fields by parent type and name.
_Plain = tuple[Callable[[Any], Any], Callable[[Any], Any], bool]
_PLAINS: dict[GraphQLObjectType, dict[str, _Plain | None]] = {}
_UNKNOWN: Any = object()
_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), list, dict, tuple})


def is_awaitable(value: Any) -> TypeGuard[Any]:
    """graphql-core's test, answered at once for the plain values that most fields hold."""
    return type(value) not in _NEVER_AWAITABLE and is_awaitable_value(value)


def _plain_leaf(field: GraphQLField | None) -> _Plain | None:
    """How to read and serialize ``field`` if it is a plain leaf field."""
    if field is None:
        return None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    output = field.type
    nullable = not isinstance(output, GraphQLNonNull)
    leaf = output if nullable else output.of_type
    if not (
        isinstance(definition, StrawberryField)
        and definition.is_basic_field
        and not field.args
        and isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
    ):
        return None
    read: Callable[[Any], Any]
    if definition.default_resolver is getattr and definition.python_name:
        read = attrgetter(definition.python_name)
    else:
        get_result = definition.get_result

        def read(source: Any) -> Any:
            return get_result(source, None, [], {})

    serialize = leaf.coerce_output_value
    if isinstance(leaf, GraphQLEnumType):
        serialize = _remembered(serialize)
    return read, serialize, nullable


def _remembered(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An enum's serializer that remembers what each member serializes to (an enum has
    few members, and Strawberry's serializer searches them all)."""
    known: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        try:
            return known[value]
        except (KeyError, TypeError):
            serialized = serialize(value)
            if len(known) < 1000:
                with contextlib.suppress(TypeError):
                    known[value] = serialized
            return serialized

    return remembered


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain leaf fields read and serialized at once."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        name = node.name.value
        known = _PLAINS.get(parent_type)
        if known is None:
            known = _PLAINS[parent_type] = {}
        plain = known.get(name, _UNKNOWN)
        if plain is _UNKNOWN:
            plain = known[name] = _plain_leaf(parent_type.fields.get(name))
        if plain is not None and not node.arguments and self.middleware_manager is None:
            read, serialize, nullable = plain
            try:
                value = read(source)
                if isinstance(value, Exception):
                    pass  # graphql-core raises it as the field's error
                elif value is None:
                    if nullable:
                        return None
                else:
                    serialized = serialize(value)
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            except Exception:  # noqa: BLE001, S110 - graphql-core's path reports it
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
