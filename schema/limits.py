"""Limits checked before a query runs: depth, aliases and a static cost in the manner of
Shopify's calculated query cost. Tokens are limited by the parser itself.

The cost of a query:
- a field that returns an object, or a list of objects, costs 1 plus its selections;
- a field that returns a scalar or an enum costs 0;
- a connection (a field whose type is ``…Connection``) costs 2 plus ``first`` (50 when
  not given) times its selections: a page of 100 entries with their creator costs
  2 + 100 × 3 = 302;
- a mutation field costs 10 plus its selections;
- introspection (``__schema``, ``__type``) costs nothing and counts for no depth.
Every answer reports its cost in ``extensions.cost``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

DEFAULT_PAGE = 50
MUTATION_COST = 10


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 10_000
    max_cost: int = 3_000


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int
    cost: int
    # Whether the cost read a variable (a page size given as $first): if not, the measure
    # holds for every request of the same query text.
    uses_variables: bool = False


def limit_error(message: str, code: str, limit: int, value: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, "limit": limit, "value": value})


def check(measure: Measure, limits: QueryLimits) -> GraphQLError | None:
    """The first limit the query passes, as a top-level error naming it; None if none."""
    if measure.depth > limits.max_depth:
        return limit_error(
            f"The query is {measure.depth} fields deep; the limit is {limits.max_depth}.",
            "MAX_DEPTH_EXCEEDED",
            limits.max_depth,
            measure.depth,
        )
    if measure.aliases > limits.max_aliases:
        return limit_error(
            f"The query has {measure.aliases} aliases; the limit is {limits.max_aliases}.",
            "MAX_ALIASES_EXCEEDED",
            limits.max_aliases,
            measure.aliases,
        )
    if measure.cost > limits.max_cost:
        return limit_error(
            f"The query would cost {measure.cost} points; the limit is {limits.max_cost}. "
            "Ask for smaller pages (first) or fewer fields.",
            "MAX_COST_EXCEEDED",
            limits.max_cost,
            measure.cost,
        )
    return None


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
) -> Measure:
    """Depth, aliases and cost of one operation of a valid document."""
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    walker = _Walker(schema, fragments, variables or {})
    mutation = operation.operation is OperationType.MUTATION
    cost, depth = walker.selections(operation.selection_set, root, 0, set(), mutation=mutation)
    return Measure(
        depth=depth, aliases=walker.aliases, cost=cost, uses_variables=walker.uses_variables
    )


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.aliases = 0
        self.uses_variables = False

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        depth: int,
        visiting: set[str],
        *,
        mutation: bool = False,
    ) -> tuple[int, int]:
        """(cost, depth) of a selection set under ``parent``."""
        if selection_set is None:
            return 0, depth
        cost, deepest = 0, depth
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                c, d = self.field(selection, parent, depth, visiting, mutation=mutation)
            elif isinstance(selection, InlineFragmentNode):
                on = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                c, d = self.selections(
                    selection.selection_set, on, depth, visiting, mutation=mutation
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visiting:
                    continue
                on = self.schema.get_type(fragment.type_condition.name.value)
                c, d = self.selections(
                    fragment.selection_set, on, depth, visiting | {name}, mutation=mutation
                )
            else:  # pragma: no cover - the grammar has no other selection
                continue
            cost += c
            deepest = max(deepest, d)
        return cost, deepest

    def field(
        self, node: FieldNode, parent: Any, depth: int, visiting: set[str], *, mutation: bool
    ) -> tuple[int, int]:
        name = node.name.value
        if node.alias is not None:
            self.aliases += 1
        if name.startswith("__"):
            return 0, depth
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:
            return 0, depth + 1
        named = get_named_type(definition.type)
        child_cost, child_depth = self.selections(node.selection_set, named, depth + 1, visiting)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            return (MUTATION_COST if mutation else 0), depth + 1
        if named.name.endswith("Connection"):
            cost = 2 + self.first(node) * child_cost
        else:
            cost = 1 + child_cost
        return cost + (MUTATION_COST if mutation else 0), child_depth

    def first(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                self.uses_variables = True
                given = self.variables.get(value.name.value)
                return max(given, 0) if isinstance(given, int) else DEFAULT_PAGE
        return DEFAULT_PAGE
