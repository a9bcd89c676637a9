"""Limits checked before a query runs: depth, aliases, string length and a static cost in
the manner of Shopify's calculated query cost. Tokens are limited by the parser itself.

The cost of a query follows the work it asks for:
- a field that returns an object, or a list of objects, costs 1 plus its selections;
- a field that returns a scalar or an enum costs 0;
- a connection (a field whose type is ``…Connection``) costs 2 plus ``first`` (50 when
  not given) times its selections: a page of 100 entries with their creator costs
  2 + 100 × 3 = 302;
- ``nodes(ids:)`` costs 1 plus, for each ID, 1 plus its selections;
- a list's ``csv`` costs 1 plus 1 per 10 entries the largest list may hold (its limit);
- a mutation field costs 10 plus its selections;
- every item of a list argument (an ID, a pattern, a recipient, a header, an email of a
  batch) costs 1, and a text holding
  several items (``"a@x.com, b@y.com"``) costs 1 per item; every line of a ``csv`` costs 1
  (an import reads one pattern a line); the addresses of
  ``evaluateEmailLoggingBatch``, decided together, cost 1 per 5;
- on top of that, every text of a list argument and every ``csv`` costs what parsing it
  costs (``policy.parse_points``): 1 per 256 bytes, 1 where it leaves the fast path of an
  ordinary address, and for what is not ASCII (which IDNA encodes) 1 per 5 bytes beyond
  one per character, and 13 per Punycode label. The batch's discount is for its ordinary
  addresses only: what parsing costs beyond them is charged in full;
- every 100 fields of the document, once its fragments are expanded, cost 1: a document
  whose fragments spread each other exponentially is refused by the cost limit, and so is
  one whose fragments nest more than MAX_FRAGMENT_NESTING deep;
- introspection (``__schema``, ``__type``) costs nothing and counts for no depth.
Variables count as given, else as their default value. Each fragment is measured once per
document however often it is spread. Every answer reports its cost in ``extensions.cost``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

from policy import parse_points
from policy.errors import (
    MaxAliasesExceeded,
    MaxCostExceeded,
    MaxDepthExceeded,
    MaxQueryLengthExceeded,
    MaxStringLengthExceeded,
)
from policy.syntax import free_texts
from schema.errors import graphql_error

DEFAULT_PAGE = 50
MUTATION_COST = 10
FIELDS_PER_POINT = 100
# Fragments spread inside fragments deeper than this: refused by the cost limit (no query
# of a person's needs a tenth of it; a chain of thousands would exhaust the stack).
MAX_FRAGMENT_NESTING = 64
ENTRIES_PER_CSV_POINT = 10
# The arguments whose length is the length of the field's list: each item costs its
# selections.
ITEMS_OF = {"nodes": "ids"}
# Fields that decide their items together: one look-up and one pass for all of a batch's
# recipients (bench: a batch decides an email about 10 to 15 times cheaper than a call of
# its own), so that its items cost a point per so many: ordinary addresses only, as what
# parsing costs beyond them (policy.parse_points) is charged in full. The largest batch
# allowed (5,000 ordinary recipients) fits the default cost limit; its answer's objects are
# charged afterwards.
ITEMS_PER_POINT = {"evaluateEmailLoggingBatch": 5}
_SEPARATORS = (",", ";", "\n")


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 10_000
    max_cost: int = 3_000
    max_string_length: int = 1_048_576
    # Characters of the query text: graphql-core's lexer reads a comment a character at a
    # time, so a longer text is refused before it is parsed.
    max_query_length: int = 100_000
    # The most entries a list may hold: what reading a whole list (csv) may cost.
    largest_list: int = 500


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int
    cost: int
    # Whether the cost read a variable (a page size given as $first): if not, the measure
    # holds for every request of the same query text.
    uses_variables: bool = False
    # The longest string among the arguments (literal or variable), in characters.
    longest_string: int = 0


@dataclass(frozen=True, slots=True)
class _Part:
    """What a selection set (or a fragment) adds up to: measured once, reused."""

    cost: int
    depth: int  # below the selection set's own depth
    aliases: int
    fields: int


# Parsing and validating a text that a process has not seen (api/querycache.py) is charged
# by the work it takes, measured with graphql-core (in µs on one core of the bench's
# machine, where an ordinary request costs about 80 to 200 µs a point): 5 to 10 µs a
# character of a dense query, so 1 point per PARSE_CHARACTERS_PER_POINT; about 120 µs for
# each fragment spread or inline fragment in a chain of them, which validation compares
# field by field (a chain of 24 took 5.7 ms, of 100, 33 ms), so FRAGMENT_POINTS each; and
# for each selection set of k fields about k² × 0.04 µs, as validation compares every
# field of a set with every other (3,000 ``id``s in one set took 333 ms), so 1 point per
# FIELD_PAIRS_PER_POINT.
PARSE_CHARACTERS_PER_POINT = 100
FRAGMENT_POINTS = 2
FIELD_PAIRS_PER_POINT = 200


def validation_points(text: str, document: DocumentNode) -> int:
    """What validating ``text`` (parsed as ``document``) costs beyond reading its
    characters, in points: its fragments and the fields compared within each selection
    set; a walk over the document's nodes, before anything is validated."""
    pairs = 0
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        fields = 0
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                fields += 1
            inner = getattr(selection, "selection_set", None)
            if inner is not None:
                stack.append(inner)
        pairs += fields * fields
    return FRAGMENT_POINTS * text.count("...") + pairs // FIELD_PAIRS_PER_POINT


def string_too_long(limit: int, value: int) -> GraphQLError:
    return graphql_error(
        MaxStringLengthExceeded(
            f"A string argument is {value} characters long; the limit is {limit}.",
            limit=limit,
            value=value,
        )
    )


def query_too_long(limit: int, value: int) -> GraphQLError:
    return graphql_error(
        MaxQueryLengthExceeded(
            f"The query text is {value} characters long; the limit is {limit}. Send values "
            "as variables.",
            limit=limit,
            value=value,
        )
    )


def longest_string(value: Any) -> int:
    """The length of the longest string in a JSON value (variables). The items of its
    lists are measured together, in C where they are all strings (addresses: most of a
    request's variables, a thousand in a batch)."""
    longest = 0
    stack = [value]
    items: list[Any] = []
    pop, push = stack.pop, stack.append
    while stack or items:
        if not stack:
            if set(map(type, items)) == _TEXTS:
                longest = max(longest, *map(len, items))
            else:
                for inner in items:
                    if type(inner) is str:
                        if len(inner) > longest:
                            longest = len(inner)
                    else:
                        push(inner)
            items = []
            continue
        item = pop()
        if isinstance(item, str):
            if len(item) > longest:
                longest = len(item)
        elif isinstance(item, dict):
            for inner in item.values():
                if type(inner) is list:
                    items.extend(inner)
                else:
                    push(inner)
        elif isinstance(item, list):
            items.extend(item)
    return longest


_TEXTS = {str}


def check(measure: Measure, limits: QueryLimits) -> GraphQLError | None:
    """The first limit the query passes, as a top-level error naming it; None if none."""
    if measure.longest_string > limits.max_string_length:
        return string_too_long(limits.max_string_length, measure.longest_string)
    if measure.depth > limits.max_depth:
        return graphql_error(
            MaxDepthExceeded(
                f"The query is {measure.depth} fields deep; the limit is {limits.max_depth}.",
                limit=limits.max_depth,
                value=measure.depth,
            )
        )
    if measure.aliases > limits.max_aliases:
        return graphql_error(
            MaxAliasesExceeded(
                f"The query has {measure.aliases} aliases; the limit is {limits.max_aliases}.",
                limit=limits.max_aliases,
                value=measure.aliases,
            )
        )
    if measure.cost > limits.max_cost:
        return graphql_error(
            MaxCostExceeded(
                f"The query would cost {measure.cost} points; the limit is {limits.max_cost}. "
                "Ask for smaller pages (first), fewer fields or fewer values.",
                limit=limits.max_cost,
                value=measure.cost,
            )
        )
    return None


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    limits: QueryLimits | None = None,
    unchanging: UnchangingParts | None = None,
) -> Measure:
    """Depth, aliases and cost of one operation of a valid document. ``unchanging`` keeps,
    across the requests of one cached document, the measures of its selection sets that
    read no variable (give the same dict with the same document each time)."""
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    walker = _Walker(
        schema,
        fragments,
        operation,
        variables or {},
        limits or QueryLimits(),
        {} if unchanging is None else unchanging,
    )
    mutation = operation.operation is OperationType.MUTATION
    part = walker.selections(operation.selection_set, root, frozenset(), mutation=mutation)
    return Measure(
        depth=part.depth,
        aliases=part.aliases,
        cost=part.cost + part.fields // FIELDS_PER_POINT,
        uses_variables=walker.uses_variables,
        longest_string=walker.longest_string,
    )


# The measure of a selection set that reads no variable is the same in every request of
# its document (a cached document keeps its nodes): kept with the document
# (api/querycache.py Prepared.parts) by the node's id, with the node (so that the id stays
# its own), its parent type, whether under a mutation, the limits. As large as the
# document, at most.
UnchangingParts = dict[tuple[int, Any, bool, "QueryLimits"], tuple[SelectionSetNode, "_Part", int]]


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        limits: QueryLimits,
        unchanging: UnchangingParts,
    ) -> None:
        self.schema = schema
        self.unchanging = unchanging
        self.fragments = fragments
        self.limits = limits
        # Variables as given, else as their default value.
        self.variables: dict[str, Any] = {}
        self.given = variables
        self.defaulted: set[str] = set()
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name in variables:
                self.variables[name] = variables[name]
            elif definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)
        self.uses_variables = False
        self.longest_string = 0
        # A fragment's measure, whether it read a variable, its longest literal string.
        self._memo: dict[tuple[str, bool], tuple[_Part, bool, int]] = {}

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        visiting: frozenset[str],
        *,
        mutation: bool = False,
    ) -> _Part:
        if selection_set is None:
            return _Part(0, 0, 0, 0)
        if visiting:  # in a fragment: measured once per document already (fragment)
            return self._selections(selection_set, parent, visiting, mutation)
        key = (id(selection_set), parent, mutation, self.limits)
        known = self.unchanging.get(key)
        if known is not None:
            _, part, longest = known
            self.longest_string = max(self.longest_string, longest)
            return part
        part, uses_variables, longest = self._apart(
            lambda: self._selections(selection_set, parent, visiting, mutation)
        )
        if not uses_variables:
            self.unchanging[key] = (selection_set, part, longest)
        return part

    def _apart(self, measuring: Callable[[], _Part]) -> tuple[_Part, bool, int]:
        """What ``measuring`` measures, whether it read a variable and its longest literal
        string, found on their own (and counted into the walk's too)."""
        uses_variables, self.uses_variables = self.uses_variables, False
        longest, self.longest_string = self.longest_string, 0
        part = measuring()
        found = (part, self.uses_variables, self.longest_string)
        self.uses_variables = self.uses_variables or uses_variables
        self.longest_string = max(self.longest_string, longest)
        return found

    def _selections(
        self,
        selection_set: SelectionSetNode,
        parent: Any,
        visiting: frozenset[str],
        mutation: bool,
    ) -> _Part:
        cost = deepest = aliases = fields = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                part = self.field(selection, parent, visiting, mutation=mutation)
            elif isinstance(selection, InlineFragmentNode):
                on = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                part = self.selections(selection.selection_set, on, visiting, mutation=mutation)
            elif isinstance(selection, FragmentSpreadNode):
                found = self.fragment(selection.name.value, visiting, mutation=mutation)
                if found is None:
                    continue
                part = found
            else:  # pragma: no cover - the grammar has no other selection
                continue
            cost += part.cost
            deepest = max(deepest, part.depth)
            aliases += part.aliases
            fields += part.fields
        return _Part(cost, deepest, aliases, fields)

    def fragment(self, name: str, visiting: frozenset[str], *, mutation: bool) -> _Part | None:
        """A fragment's measure, the same wherever it is spread: walked once."""
        key = (name, mutation)
        known = self._memo.get(key)
        if known is not None:
            # what walking it found, again for the selection set that spreads it
            part, uses_variables, longest = known
            self.uses_variables = self.uses_variables or uses_variables
            self.longest_string = max(self.longest_string, longest)
            return part
        fragment = self.fragments.get(name)
        if fragment is None or name in visiting:  # validation refuses cycles; be safe
            return None
        if len(visiting) >= MAX_FRAGMENT_NESTING:
            return _Part(self.limits.max_cost + 1, 0, 0, 0)
        on = self.schema.get_type(fragment.type_condition.name.value)
        measured = self._apart(
            lambda: self.selections(
                fragment.selection_set, on, visiting | {name}, mutation=mutation
            )
        )
        self._memo[key] = measured
        return measured[0]

    def field(
        self, node: FieldNode, parent: Any, visiting: frozenset[str], *, mutation: bool
    ) -> _Part:
        name = node.name.value
        alias = 1 if node.alias is not None else 0
        if name.startswith("__"):
            return _Part(0, 0, alias, 1)
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:
            return _Part(0, 1, alias, 1)
        arguments = {a.name.value: self.argument(a) for a in node.arguments or ()}
        items = parsing = 0
        for value in arguments.values():
            counted, surcharge = _items(value)
            items += counted
            parsing += surcharge
        if name in ITEMS_PER_POINT:
            items = -(-items // ITEMS_PER_POINT[name])
        # What parsing the texts costs beyond ordinary addresses: never discounted.
        items += parsing
        extra = MUTATION_COST if mutation else 0
        named = get_named_type(definition.type)
        child = self.selections(node.selection_set, named, visiting)
        own = _Part(0, child.depth + 1, child.aliases + alias, child.fields + 1)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            cost = items + extra
            if name == "csv" and not arguments:
                cost += 1 + -(-self.limits.largest_list // ENTRIES_PER_CSV_POINT)
            return _Part(cost, 1, alias, 1)
        if name in ITEMS_OF:
            count = arguments.get(ITEMS_OF[name])
            many = len(count) if isinstance(count, list) else 1
            cost = 1 + many * (1 + child.cost)
        elif named.name.endswith("Connection"):
            cost = 2 + self.first(arguments) * child.cost
        else:
            cost = 1 + child.cost
        return _Part(cost + items + extra, own.depth, own.aliases, own.fields)

    def argument(self, argument: ArgumentNode) -> Any:
        """The argument's value, with its variables read (given, or their default)."""
        if _reads_variables(argument.value):
            self.uses_variables = True
        value = value_from_ast_untyped(argument.value, self.variables)
        given = isinstance(argument.value, VariableNode) and argument.value.name.value in self.given
        if not given:
            # A variable's value as sent was measured before the query was parsed
            # (longest_string of the request's variables): literals and defaults only here.
            self.longest_string = max(self.longest_string, longest_string(value))
        return value

    def first(self, arguments: Mapping[str, Any]) -> int:
        given = arguments.get("first", Undefined)
        return max(given, 0) if isinstance(given, int) else DEFAULT_PAGE


def _reads_variables(node: Any) -> bool:
    kind = getattr(node, "kind", "")
    if kind == "variable":
        return True
    if kind == "list_value":
        return any(_reads_variables(v) for v in node.values)
    if kind == "object_value":
        return any(_reads_variables(f.value) for f in node.fields)
    return False


def _items(value: Any) -> tuple[int, int]:
    """How many items an argument's value carries (each element of a list, each item of a
    text that holds several, each line of a CSV), and what parsing its texts costs beyond
    1 point an item (``policy.parse_points``): ``_walked``'s count, found at once where
    the value is plain (``_plain_items``)."""
    plain = _plain_items(value)
    return _walked(value) if plain is None else plain


def _plain_items(value: Any) -> tuple[int, int] | None:
    """``_walked``'s count of a value made only of texts that parsing charges nothing and
    that hold no separator (``policy.syntax.free_texts``: ordinary addresses), in a list
    or in the lists of objects that are the value or in it (a batch's emails, a page of
    patterns), with texts, nulls, booleans and integers besides: each text in a list is
    an item, each object in a list is an item, the rest none. None where the value holds
    anything else (a CSV, a list in a list, an object in an object, a header, ...). A few
    passes of C over a batch's thousand addresses, rather than a call for each."""
    texts: list[Any] = []
    objects = 0
    if type(value) is list:
        values = value
    elif type(value) is dict:
        values = [value]
        objects = -1  # the value itself is no item
    else:
        return None
    for inner in values:
        kind = type(inner)
        if kind is str:
            texts.append(inner)
        elif kind is dict:
            objects += 1
            for key, field in inner.items():
                kind = type(field)
                if kind is list:
                    texts.extend(field)  # free_texts finds any that is not a text
                elif kind is str:
                    if key == "csv":
                        return None
                elif field is not None and kind is not bool and kind is not int:
                    return None
        else:
            return None
    joined = free_texts(texts)
    if joined is None or "," in joined or ";" in joined or "\n" in joined:
        return None
    return len(texts) + objects, 0


def _walked(value: Any, *, in_list: bool = False) -> tuple[int, int]:
    """``_items``, each value looked at on its own."""
    if isinstance(value, list):
        total = parsing = 0
        for inner in value:
            if type(inner) is str:  # most items: addresses, which hold none of _SEPARATORS
                total += 1
                if "," in inner or ";" in inner or "\n" in inner:
                    total += sum(map(inner.count, _SEPARATORS))
                parsing += parse_points(inner)
            else:
                counted, surcharge = _walked(inner, in_list=True)
                # an input object in a list (an email of a batch, a header) is an item too
                total += counted + (type(inner) is dict)
                parsing += surcharge
        return total, parsing
    if isinstance(value, dict):
        total = parsing = 0
        for key, inner in value.items():
            if key == "csv" and isinstance(inner, str):
                total += csv_items(inner)
                parsing += parse_points(inner)
            else:
                counted, surcharge = _walked(inner)
                total += counted
                parsing += surcharge
        return total, parsing
    if isinstance(value, str) and in_list:
        return 1 + sum(value.count(s) for s in _SEPARATORS), parse_points(value)
    return (1 if in_list else 0), 0


def csv_items(text: str) -> int:
    """An upper bound of the patterns of a CSV import: its lines (an import reads one
    pattern a line, whatever its other columns hold; tenancy.csvfiles.read_rows)."""
    # A line ends with LF, CRLF or a lone CR (old Mac files read as lines too).
    return text.count("\n") + text.count("\r") - text.count("\r\n") + 1
