"""Input types built at once from what graphql-core has already coerced.

Strawberry converts an input value field by field, resolving every field's annotation
again for every value; for a batch of a hundred emails that was a sixth of the request.
graphql-core has by then checked and coerced every value (an enum to its member, a list
of strings to a list of strings), so a field of a leaf type, or a list of them, needs no
converting at all. ``built_plainly`` gives an input type Strawberry's own hook for that
(``StrawberryObjectDefinition.from_input``): its leaf fields and lists of leaves are taken
as they are (a list copied, as Strawberry copies it), any other field is converted by
Strawberry (``InputContext.convert``). tests/schema/test_inputs.py holds it to Strawberry's
own conversion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

T = TypeVar("T")
_LEAVES = (str, int, float, bool)
# How a field's value becomes its Python value: as it is, as a copied list, or Strawberry's.
_Convert = Callable[[Any, InputContext, str], Any]


def _as_is(value: Any, context: InputContext, name: str) -> Any:
    return value


def _copied(value: Any, context: InputContext, name: str) -> Any:
    return None if value is None else list(value)


def _is_leaf(type_: Any) -> bool:
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    # strawberry.ID is a NewType of str: its supertype is what graphql-core hands over.
    type_ = getattr(type_, "__supertype__", type_)
    return (
        type_ in _LEAVES
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )


def _converter(type_: Any) -> _Convert:
    if _is_leaf(type_):
        return _as_is
    of = type_.of_type if isinstance(type_, StrawberryOptional) else type_
    if isinstance(of, StrawberryList) and _is_leaf(of.of_type):
        return _copied

    def strawberry_s(value: Any, context: InputContext, name: str) -> Any:
        return None if value is None else context.convert(value, type_, name)

    return strawberry_s


def built_plainly(cls: type[T]) -> type[T]:
    """Decorate a ``strawberry.input`` (below its decorator) to build it this way."""
    assert has_object_definition(cls), f"{cls} is no Strawberry type"
    definition = cls.__strawberry_definition__
    assert definition.is_input, f"{cls} is no input type"
    plan: list[tuple[str, str, _Convert]] = []
    # As Strawberry does: a field without a default is None until the value names it.
    implicit = {
        f.python_name: None
        for f in definition.fields
        if f.default_value is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }

    def from_input(type_: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not plan:  # the first time: field types may be lazy until the schema is built
            name_of = context.config.name_converter.from_field
            plan.extend(
                (name_of(f), f.python_name, _converter(f.resolve_type(type_definition=definition)))
                for f in definition.fields
            )
        kwargs = dict(implicit)
        for graphql_name, python_name, convert in plan:
            if graphql_name in value:
                kwargs[python_name] = convert(value[graphql_name], context, graphql_name)
        return type_(**kwargs)

    definition.from_input = from_input
    return cls  # type: ignore[return-value]
