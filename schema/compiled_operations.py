"""Compiled operations: a query planned once, then run by plain code; stock execution for
everything else.

graphql-core executes every field of every request alike: it collects the selection (and
its fragments) again, builds a resolve info, calls the resolver, asks whether the result
is awaitable and completes it through the type's wrappers. For the few operations that
carry load (``evaluateEmailLogging``, ``evaluateEmailLoggingBatch``, ``viewer``, a page of
entries) that machinery costs more than the decision. As graphql-jit does for GraphQL.js,
this module compiles an operation once into a *plan* and runs the plan for each request:

1. ``compile_operation`` walks the validated operation once. For every selection set it
   merges fields by response name (aliases, fragment spreads and inline fragments on the
   same object type, as graphql-core's field collection does), finds each field's
   definition and return type, and coerces the arguments that name no variable. The
   result is a tree of ``_Field`` records with a completion function per return type
   (non-null, list, object, scalar or enum). It gives up (returns None) on anything it does
   not cover: a mutation or subscription, a directive (``@include``, ``@skip``, ``@defer``,
   ...), an interface or a union, introspection, a field it does not know.
2. ``execute_operation`` runs a plan: variables coerced as graphql-core coerces them
   (``PlainVariables`` where their values are plainly valid JSON of the expected shapes,
   else ``get_variable_values``), each resolver called as graphql-core calls it
   (``GraphQLField.resolve(source, info, **arguments)`` with a ``GraphQLResolveInfo`` built
   through its public constructor), a field that Strawberry reads as an attribute read as
   it reads it, leaves serialized by their type (``coerce_output_value``, graphql-core's
   serializer; the plain ones, a str or a bool, and an enum's known members inline),
   sibling awaitables awaited together (so that DataLoaders batch as they do under
   graphql-core), and the answer's objects counted as they are made (what the view
   charges for an answer larger than its calculated cost).
   An *object of attributes* (every field of its selection one that Strawberry reads as
   an attribute, and a leaf or a list or object of such: a decision, a recipient; most of
   a batch's answer) is completed by a function generated once per plan, as graphql-jit
   generates JavaScript: ``_generated_source`` writes Python source that reads the
   attributes at once and, for each field, keeps the value where its exact type proves
   it its own answer (``type(v) is str`` for a String or an ID, ``bool`` for a Boolean,
   an ``int`` within 32 bits for an Int, a null where the field may be null, an enum's
   member found among those its type serialized before) and else calls the field's own
   completion (the type's ``coerce_output_value``; a null where none may be, or a value
   that does not serialize, gives up as below). The source is made of names it writes
   itself (``v0``, ``key0``, ``complete0``, ...) and depends only on each field's kind;
   the response names, the attributes and the types are values in the function's
   globals, never text of the source. It is compiled once per shape (``compile``, then
   ``exec`` to bind the globals). tests/schema/test_compiled_operations.py holds it to
   graphql-core's own execution for objects holding anything (nulls, values of other
   types, members of another enum, aliases, ``__typename``). A list of them completes an
   object met before in the run once, wherever it comes (``_repeating_list``: policy
   shares a recipient's decision between a batch's emails), counting its objects each
   time.
3. Anything unexpected while a plan runs (a resolver that raises, a null where none may
   be, a value that does not serialize, variables that do not coerce, an object that is
   not of its type) abandons the plan's answer, and the whole operation runs again on
   stock execution: graphql-core's ``execute`` with Strawberry's own execution context
   class, exactly as Strawberry runs it. Only queries are planned, and a query has no
   side effect, so running it twice is safe; the errors a client sees always come from
   stock execution.

A plan is therefore a cache of the stock executor's answer, never a second truth:
tests/schema/test_compiled_operations.py generates operations over the real schema and
checks that both answer the same, data, errors and paths. The module uses only what
``graphql`` exports at its top level and Strawberry's public ``execution_context_class``;
it is generic over the schema (it names no field). Plans are kept with the parsed
document in the view's cache (api/querycache.py), keyed by the text's SHA-256 and bounded
in bytes. ``NEVERLOG_COMPILED_OPERATIONS=false`` turns plans off.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    VariableValues,
    default_field_resolver,
    execute,
    get_argument_values,
    get_variable_values,
    is_abstract_type,
    is_required_input_field,
    type_from_ast,
)
from strawberry.types.field import StrawberryField

from schema.build import build_schema, graphql_schema

# A completion: (value, path, info, run) -> the answer's value, or an awaitable of it.
Info = GraphQLResolveInfo[Any]
Complete = Callable[[Any, "ResponsePath", Info, "_Run"], Any]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# The fields a plan may hold, fragments spread where they are used: a text whose fragments
# multiply (a fragment spread twice in a fragment spread twice, ...) runs on stock
# execution rather than growing a plan (and the cache that keeps it) without bound.
MAX_PLANNED_FIELDS = 2_000
_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), list, dict, tuple})


class Unplanned(Exception):
    """Raised while a plan runs where the answer is not the plain one: stock execution
    answers instead."""


class ResponsePath(NamedTuple):
    """Where a value is in the answer, as graphql-core's ``Path`` (``info.path``) says it:
    the previous step, a key (a response name or a list index), the parent type's name."""

    prev: ResponsePath | None
    key: str | int
    typename: str | None

    def add_key(self, key: str | int, typename: str | None = None) -> ResponsePath:
        return ResponsePath(self, key, typename)

    def as_list(self) -> list[str | int]:
        keys: list[str | int] = []
        step: ResponsePath | None = self
        while step is not None:
            keys.append(step.key)
            step = step.prev
        keys.reverse()
        return keys


def _is_awaitable(value: Any) -> bool:
    return type(value) not in _NEVER_AWAITABLE and inspect.isawaitable(value)


# -- Compiling ---------------------------------------------------------------------------


class _NotPlannable(Exception):
    """The operation holds something that a plan does not cover."""


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of a selection, merged over the nodes that select it."""

    response_name: str
    name: str
    definition: GraphQLField | None  # None for __typename
    nodes: list[FieldNode]
    return_type: GraphQLOutputType | None
    parent_type: GraphQLObjectType
    # Arguments coerced once where they name no variable; None where they must be
    # coerced for each request.
    arguments: dict[str, Any] | None
    resolve: Callable[..., Any]
    complete: Complete | None
    # A leaf that Strawberry resolves by reading an attribute (StrawberryField.is_basic_field:
    # no resolver, permission or extension; "we can avoid constructing an Info object", as
    # its docstring says): Strawberry's default resolver and the attribute's name.
    read: Callable[[Any, str], Any] | None = None
    attribute: str = ""


class _Tracker:
    """A plan's resolve-info helpers: awaitables gathered, and those that a resolver leaves
    running tracked (kept until they settle: empty once they have)."""

    def __init__(self) -> None:
        self.running: set[asyncio.Future[Any]] = set()
        self.helpers = GraphQLResolveInfoHelpers(_gather, self.track)

    def track(self, values: Sequence[Any]) -> None:
        for value in values:
            if _is_awaitable(value):
                future = asyncio.ensure_future(value)
                self.running.add(future)
                future.add_done_callback(self.running.discard)


def _tracked_helpers() -> GraphQLResolveInfoHelpers:
    return _Tracker().helpers


@dataclass(frozen=True, slots=True)
class Plan:
    """An operation compiled: its root type and the fields selected on it."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root_type: GraphQLObjectType
    fields: tuple[_Field, ...]
    size: int  # the fields compiled, for the cache's estimate of its memory
    # The variables coerced for plainly valid values (PlainVariables); None: always by
    # graphql-core's get_variable_values.
    plain_variables: PlainVariables | None = None
    # The helpers of its resolve infos, with the futures that its resolvers leave running
    # (held until they settle: asyncio keeps only weak references to them).
    helpers: GraphQLResolveInfoHelpers = dataclasses.field(default_factory=_tracked_helpers)


def compile_operation(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> Plan | None:
    """The plan of a validated ``operation`` of ``document``, or None where a plan does
    not cover it (stock execution runs it)."""
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    root = schema.query_type
    if root is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if any(d.directives for d in operation.variable_definitions or ()):
        return None
    compiler = _Compiler(schema, fragments)
    try:
        fields = compiler.fields(root, [operation.selection_set])
    except _NotPlannable:
        return None
    plain = None
    if not compiler.nested_variables:
        plain = PlainVariables.of(schema, operation)
    return Plan(schema, document, operation, fragments, root, fields, compiler.size, plain)


class _Compiler:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.size = 0
        # Whether an argument reads a variable inside a literal ([$a, $b], {x: $a}) rather
        # than as its whole value: then graphql-core may read the variables' sources
        # (replace_variables), which plain coercion does not make.
        self.nested_variables = False
        # The completions that read no path (a leaf, an object of attributes, a list of
        # either, non-null or not): a list of them builds no path for its items, and a
        # field of one that Strawberry reads as an attribute is read so. They call no
        # resolver, so they are never awaitable. Each leaf's spec.
        self.pathless: set[Complete] = set()
        self.leaves: dict[Complete, _LeafSpec] = {}

    def fields(
        self, parent: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> tuple[_Field, ...]:
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._collect(parent, selection_set, grouped, set())
        return tuple(self._field(parent, name, nodes) for name, nodes in grouped.items())

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """The fields of a selection set by response name, as graphql-core collects them."""
        for selection in selection_set.selections:
            if selection.directives:
                raise _NotPlannable
            if isinstance(selection, FieldNode):
                name = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(name, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(parent, selection.type_condition):
                    self._collect(parent, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None or fragment.directives:
                    raise _NotPlannable
                if self._applies(parent, fragment.type_condition):
                    self._collect(parent, fragment.selection_set, grouped, visited)
            else:
                raise _NotPlannable

    def _applies(self, parent: GraphQLObjectType, condition: Any) -> bool:
        if condition is None:
            return True
        named = self.schema.get_type(condition.name.value)
        if named is parent:
            return True
        if named is not None and is_abstract_type(named):
            return self.schema.is_sub_type(cast(Any, named), parent)
        return False

    def _field(
        self, parent: GraphQLObjectType, response_name: str, nodes: list[FieldNode]
    ) -> _Field:
        self.size += 1
        if self.size > MAX_PLANNED_FIELDS:
            raise _NotPlannable
        name = nodes[0].name.value
        if name == "__typename":
            return _Field(response_name, name, None, nodes, None, parent, {}, _typename, None)
        definition = parent.fields.get(name)
        if definition is None:  # unknown, or introspection (__schema, __type)
            raise _NotPlannable
        arguments: dict[str, Any] | None = None
        if not _names_a_variable(nodes[0]):
            arguments = get_argument_values(definition, nodes[0])
        elif any(
            not isinstance(a.value, VariableNode) and _reads_a_variable(a.value)
            for a in nodes[0].arguments or ()
        ):
            self.nested_variables = True
        complete = self._completion(definition.type, nodes)
        resolve = definition.resolve or default_field_resolver
        read, attribute = self._reads_attribute(parent, name, complete in self.pathless)
        return _Field(
            response_name,
            name,
            definition,
            nodes,
            definition.type,
            parent,
            arguments,
            resolve,
            complete,
            read,
            attribute,
        )

    def _reads_attribute(
        self, parent: GraphQLObjectType, name: str, pathless: bool
    ) -> tuple[Any, str]:
        """For a field that Strawberry resolves by reading an attribute of its source (its
        resolver then calls ``StrawberryField.get_result(source, None, [], {})``, which
        reads it with the config's default resolver) and whose completion reads no path
        (a leaf, an object of attributes, a list of either: a decision's recipients), how
        to read it; else None. Not where the schema has exception handlers (Strawberry
        then wraps every field)."""
        if self.schema is not graphql_schema():
            return None, ""
        # Strawberry's own field, through its public Schema.get_field_for_type
        strawberry_schema = build_schema()
        field = strawberry_schema.get_field_for_type(name, parent.name)
        if (
            not isinstance(field, StrawberryField)
            or not field.is_basic_field
            or getattr(strawberry_schema, "exception_handlers", True)
            or not pathless
        ):
            return None, ""
        return field.default_resolver, field.python_name

    def _completion(self, type_: GraphQLOutputType, nodes: list[FieldNode]) -> Complete:
        if isinstance(type_, GraphQLNonNull):
            if isinstance(type_.of_type, GraphQLScalarType | GraphQLEnumType):
                return self._leaf(type_.of_type, nullable=False)
            inner = self._completion(type_.of_type, nodes)
            return self._pathless(_non_null(inner), inner in self.pathless)
        if isinstance(type_, GraphQLList):
            item = self._completion(type_.of_type, nodes)
            if item not in self.pathless:
                return _list(item)
            if item in self.leaves:
                return self._pathless(_list(item, pathless=True), True)
            return self._pathless(_repeating_list(item), True)
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return self._leaf(type_)
        if isinstance(type_, GraphQLObjectType):
            selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
            fields = self.fields(type_, selection_sets)
            if type_.is_type_of is None and fields and all(f.read is getattr for f in fields):
                specs = [self.leaves.get(f.complete) for f in fields]  # type: ignore[arg-type]
                return self._pathless(_object_of_attributes(fields, specs), True)
            return _object(type_, fields)
        raise _NotPlannable  # an interface or a union: the stock executor resolves its type

    def _leaf(self, type_: GraphQLScalarType | GraphQLEnumType, nullable: bool = True) -> Complete:
        spec = _leaf(type_, nullable)
        self.leaves[spec.complete] = spec
        return self._pathless(spec.complete, True)

    def _pathless(self, complete: Complete, pathless: bool) -> Complete:
        if pathless:
            self.pathless.add(complete)
        return complete


def _names_a_variable(node: FieldNode) -> bool:
    """Whether any argument of ``node`` reads a variable (at any depth)."""
    return any(_reads_a_variable(a.value) for a in node.arguments or ())


def _reads_a_variable(node: Any) -> bool:
    """Whether a value node is, or holds, a variable."""
    pending: list[Any] = [node]
    while pending:
        value = pending.pop()
        if isinstance(value, VariableNode):
            return True
        pending.extend(getattr(value, "values", ()))
        pending.extend(f.value for f in getattr(value, "fields", ()))
    return False


def _typename(source: Any, info: Info) -> str:
    return info.parent_type.name


# -- Completions -------------------------------------------------------------------------


class _LeafSpec(NamedTuple):
    """What a leaf's completion does without a call, for an object of attributes to do
    inline: a value of type ``plain`` is its own answer, a null is null where ``nullable``,
    an enum's member is looked up in ``known``; anything else goes through ``complete``."""

    plain: type | None
    nullable: bool
    known: dict[Any, Any] | None
    complete: Complete
    int32: bool = False  # an Int: an ``int`` within 32 bits is its own answer


def _leaf(type_: GraphQLScalarType | GraphQLEnumType, nullable: bool = True) -> _LeafSpec:
    """A scalar or enum serialized by its type; not ``nullable``: a null gives up."""
    serialize = type_.coerce_output_value
    # graphql-core's own serializers give these values back unchanged.
    unchanged = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}.get(cast(Any, type_))
    is_int = type_ is GraphQLInt
    # An enum's members serialize to their names, always the same: remembered (an enum has
    # few members; a bound keeps a misbehaving one from growing the process).
    known: dict[Any, Any] | None = {} if isinstance(type_, GraphQLEnumType) else None

    def complete(value: Any, path: ResponsePath, info: Info, run: _Run) -> Any:
        if value is None:
            if nullable:
                return None
            raise Unplanned  # stock execution says why, and nulls what it must
        kind = type(value)
        if kind is unchanged or (is_int and kind is int and _INT_MIN <= value <= _INT_MAX):
            return value
        if known is not None:
            try:
                return known[value]
            except (KeyError, TypeError):
                pass
        if isinstance(value, Exception):
            raise Unplanned
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise Unplanned
        kind = type(serialized)
        if kind is dict or kind is list:
            run.counted = False  # objects inside a scalar: count_objects counts them
        elif known is not None and len(known) < 1000 and kind is str:
            with contextlib.suppress(TypeError):
                known[value] = serialized
        return serialized

    return _LeafSpec(unchanged, nullable, known, complete, is_int)


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any, path: ResponsePath, info: Info, run: _Run) -> Any:
        if value is None:
            raise Unplanned  # stock execution says why, and nulls what it must
        return inner(value, path, info, run)

    return complete


def _list(item: Complete, pathless: bool = False) -> Complete:
    """A list of ``item``s; ``pathless`` items (a leaf, an object of attributes) read no
    path and are never awaitable (they call no resolver): completed in one pass."""
    if pathless:

        def complete_pathless(value: Any, path: ResponsePath, info: Info, run: _Run) -> Any:
            if value is None:
                return None
            if type(value) not in (list, tuple):
                raise Unplanned
            return [item(element, path, info, run) for element in value]

        return complete_pathless

    def complete(value: Any, path: ResponsePath, info: Info, run: _Run) -> Any:
        if value is None:
            return None
        if type(value) not in (list, tuple):
            raise Unplanned
        completed = []
        pending: list[tuple[int, Any]] | None = None
        try:
            for index, element in enumerate(value):
                answer = item(element, ResponsePath(path, index, None), info, run)
                if type(answer) not in _NEVER_AWAITABLE and inspect.isawaitable(answer):
                    if pending is None:
                        pending = []
                    pending.append((index, answer))
                completed.append(answer)
        except Exception as error:
            if pending:
                return _fail_after(pending, error)
            raise
        if pending is None:
            return completed
        return _settle(completed, pending)

    return complete


def _repeating_list(item: Complete) -> Complete:
    """A list of pathless objects (objects of attributes, or lists of them): completed in
    one pass, as ``_list``'s pathless items, where an item that is the very object of an
    item completed before in the run (by this completion: a recipient's decision, which
    policy makes once per recipient and field and shares between emails; a batch's copies
    of one email's decision) is that item's answer again, and counts its objects again,
    rather than read anew. A pathless completion reads attributes and serializes leaves,
    calls no resolver and awaits nothing, and the objects it reads are immutable (a
    decision and its recipients): the second answer could not differ. The run keeps each
    object with its answer (``_Run.repeats``), so that no other object takes its id."""

    def complete(value: Any, path: ResponsePath, info: Info, run: _Run) -> Any:
        if value is None:
            return None
        if type(value) not in (list, tuple):
            raise Unplanned
        seen = run.repeats.get(item)
        if seen is None:
            seen = run.repeats[item] = {}
        completed = []
        repeated = 0  # the objects of the items met before, counted once at the end
        for element in value:
            found = seen.get(id(element))
            if found is not None and found[0] is element:
                repeated += found[2]
                completed.append(found[1])
                continue
            before = run.objects
            answer = item(element, path, info, run)
            seen[id(element)] = (element, answer, run.objects - before)
            completed.append(answer)
        run.objects += repeated
        return completed

    return complete


def _object(type_: GraphQLObjectType, fields: tuple[_Field, ...]) -> Complete:
    is_type_of = type_.is_type_of

    def complete(value: Any, path: ResponsePath, info: Info, run: _Run) -> Any:
        if value is None:
            return None
        if isinstance(value, Exception):
            raise Unplanned
        if is_type_of is not None and is_type_of(value, info) is not True:
            raise Unplanned
        run.objects += 1
        return _execute_fields(fields, value, path, run)

    return complete


def _object_of_attributes(
    fields: tuple[_Field, ...], leaves: Sequence[_LeafSpec | None]
) -> Complete:
    """An object whose every field Strawberry reads as an attribute with ``getattr`` and
    whose completions read no path (a decision and its recipients: most of a batch's
    answer), completed by a function generated for its selection (_generated_source): its
    attributes read at once (``operator.attrgetter``, in the fields' order, as the stock
    executor reads them one by one), each value kept as it is where its leaf's spec
    (_LeafSpec) proves it its own answer (a ``str`` for a String or an ID, a ``bool`` for
    a Boolean, an ``int`` within 32 bits for an Int, an enum's member already serialized
    once), else completed by the field's completion (which serializes, or raises
    Unplanned); no path, no resolve info."""
    read = attrgetter(*(f.attribute for f in fields))
    kinds: list[str] = []
    namespace: dict[str, Any] = {"read": read, "Unplanned": Unplanned, "Exception": Exception}
    for index, (field, leaf) in enumerate(zip(fields, leaves, strict=True)):
        namespace[f"key{index}"] = field.response_name
        namespace[f"complete{index}"] = field.complete
        if leaf is None:
            kinds.append("call")
            continue
        # a null is kept inline where the field may be null (its completion gives it)
        nullable = "?" if leaf.nullable else ""
        if leaf.known is not None:
            kinds.append("known" + nullable)
            namespace[f"known{index}"] = leaf.known
        elif leaf.int32:
            kinds.append("int" + nullable)
        elif leaf.plain is not None:
            kinds.append("plain" + nullable)
            namespace[f"plain{index}"] = leaf.plain
        else:
            kinds.append("call")
    code = _generated_code(tuple(kinds))
    exec(code, namespace)  # source written by _generated_source alone: names, no input
    return cast(Complete, namespace["complete"])


@lru_cache(maxsize=256)
def _generated_code(kinds: tuple[str, ...]) -> Any:
    """The compiled source of _generated_source: one per shape of selection (the kinds of
    its fields), whatever its names (they are the function's globals)."""
    return compile(_generated_source(kinds), "<object of attributes>", "exec")


def _generated_source(kinds: tuple[str, ...]) -> str:
    """The source of an object of attributes' completion, field ``i`` of kind
    ``kinds[i]``: "plain" (kept where ``type(value) is plain{i}``), "int" (kept where an
    ``int`` within 32 bits), "known" (an enum: its member looked up in ``known{i}``, the
    names the leaf's completion serialized before) or "call"; anything not kept goes to
    ``complete{i}``, the field's own completion, exactly as the stock completion of a
    leaf would serialize it (a null, a value of another type, an unknown member).
    The source holds only names made here (``v{i}``, ``key{i}``, ...): the response
    names, the attributes and the types are values of the function's globals. For
    (plain, known, call) it reads::

        def complete(value, path, info, run):
            if value is None:
                return None
            if isinstance(value, Exception):
                raise Unplanned
            v0, v1, v2 = read(value)
            if type(v0) is not plain0:
                v0 = complete0(v0, None, None, run)
            named = known1.get(v1)
            v1 = complete1(v1, None, None, run) if named is None else named
            v2 = complete2(v2, None, None, run)
            run.objects += 1
            return {key0: v0, key1: v1, key2: v2}
    """
    values = [f"v{i}" for i in range(len(kinds))]
    lines = [
        "def complete(value, path, info, run):",
        "    if value is None:",
        "        return None",
        "    if isinstance(value, Exception):",
        "        raise Unplanned",
        f"    {values[0]} = read(value)"
        if len(kinds) == 1
        else f"    {', '.join(values)} = read(value)",
    ]
    for i, kind in enumerate(kinds):
        slow = f"complete{i}(v{i}, None, None, run)"
        # "kind?": the field may be null, and a null is its own answer
        unless_null = f" and v{i} is not None" if kind.endswith("?") else ""
        kind = kind.rstrip("?")
        if kind == "plain":
            lines += [f"    if type(v{i}) is not plain{i}{unless_null}:", f"        v{i} = {slow}"]
        elif kind == "int":
            lines += [
                f"    if (type(v{i}) is not int or not {_INT_MIN} <= v{i} <= {_INT_MAX})"
                f"{unless_null}:",
                f"        v{i} = {slow}",
            ]
        elif kind == "known":
            lines += [
                f"    named = known{i}.get(v{i})",
                "    if named is not None:",
                f"        v{i} = named",
                f"    elif v{i} is not None:" if unless_null else "    else:",
                f"        v{i} = {slow}",
            ]
        elif kind == "call":
            lines.append(f"    v{i} = {slow}")
        else:
            raise ValueError(kind)
    entries = ", ".join(f"key{i}: v{i}" for i in range(len(kinds)))
    lines += ["    run.objects += 1", f"    return {{{entries}}}"]
    return "\n".join(lines) + "\n"


def _execute_fields(
    fields: tuple[_Field, ...], source: Any, path: ResponsePath | None, run: _Run
) -> Any:
    answer: dict[str, Any] = {}
    pending: list[tuple[str, Any]] | None = None
    try:
        for field in fields:
            read = field.read
            if read is not None:  # a leaf read as Strawberry reads it (_execute_field)
                answer[field.response_name] = field.complete(  # type: ignore[misc]
                    read(source, field.attribute),
                    None,  # type: ignore[arg-type]
                    None,  # type: ignore[arg-type]
                    run,
                )
                continue
            value = _execute_field(field, source, path, run)
            if type(value) not in _NEVER_AWAITABLE and inspect.isawaitable(value):
                if pending is None:
                    pending = []
                pending.append((field.response_name, value))
            answer[field.response_name] = value
    except Exception as error:
        if pending:
            return _fail_after(pending, error)
        raise
    if pending is None:
        return answer
    return _settle(answer, pending)


def _execute_field(field: _Field, source: Any, parent: ResponsePath | None, run: _Run) -> Any:
    """One field of ``source``: its resolver called as graphql-core calls it, its value
    completed (or, where the resolver returns an awaitable, an awaitable of both)."""
    if field.complete is None:  # __typename: the parent type's name, as graphql-core says it
        return field.parent_type.name
    if field.read is not None:  # a leaf read as Strawberry reads it: no info to build
        return field.complete(field.read(source, field.attribute), None, None, run)  # type: ignore[arg-type]
    path = ResponsePath(parent, field.response_name, field.parent_type.name)
    info = GraphQLResolveInfo(
        field.name,
        field.nodes,
        field.return_type,  # type: ignore[arg-type]
        field.parent_type,
        path,  # type: ignore[arg-type]
        run.schema,
        run.fragments,
        None,  # the root value, as Strawberry gives it
        run.operation,
        run.coerced,  # the coerced variables, as Strawberry's execution context gives them
        run.context,
        _is_awaitable,  # type: ignore[arg-type]
        None,
        run.helpers,
    )
    arguments = field.arguments
    if arguments is None:
        arguments = get_argument_values(field.definition, field.nodes[0], run.variables)  # type: ignore[arg-type]
    value = field.resolve(source, info, **arguments)
    if type(value) not in _NEVER_AWAITABLE and inspect.isawaitable(value):
        run.resolving.append(value)
        return _complete_later(value, field.complete, path, info, run)
    return field.complete(value, path, info, run)


async def _complete_later(
    value: Awaitable[Any], complete: Complete, path: ResponsePath, info: Any, run: _Run
) -> Any:
    completed = complete(await value, path, info, run)
    if _is_awaitable(completed):
        return await completed
    return completed


async def _settle(answer: Any, pending: Sequence[tuple[Any, Any]]) -> Any:
    """``answer`` with its awaitable values awaited together (each in a task, as graphql-core
    gathers them, so that DataLoaders batch); every one settles before an error is raised,
    so that nothing of the plan still runs when stock execution starts."""
    values = await asyncio.gather(*(value for _, value in pending), return_exceptions=True)
    for (key, _), value in zip(pending, values, strict=True):
        if isinstance(value, BaseException):
            raise value
        answer[key] = value
    return answer


async def _fail_after(pending: Sequence[tuple[Any, Any]], error: Exception) -> Any:
    """``error`` raised once what was already started has settled (a coroutine left
    unawaited would still hold its work, and warn)."""
    await asyncio.gather(*(value for _, value in pending), return_exceptions=True)
    raise error


# -- Variables ---------------------------------------------------------------------------

# A variable's value nested deeper than this (lists and input objects) is left to
# graphql-core, which refuses what it nests more than 200 deep.
_PLAIN_DEPTH = 32
# A plain coercion: (value, depth) -> the coerced value, or Undefined where the value is
# not plainly valid (graphql-core then coerces it, and words its errors).
_Coerce = Callable[[Any, int], Any]


class _NotPlain(Exception):
    """A variable's type holds what plain coercion does not cover."""


class PlainVariables:
    """The variables of an operation coerced where their values are plainly valid: JSON
    values of exactly the expected shapes (a ``list`` for a list, a ``dict`` of known
    fields for an input object, a ``str`` for a String or an ID, a ``bool`` for a
    Boolean, an ``int`` within 32 bits for an Int, an enum's name), to exactly what
    graphql-core's ``get_variable_values`` gives for them: input objects with their
    fields' defaults (as graphql-core takes them: the field's ``default_value`` itself)
    under their ``out_name``, through the type's ``out_type``; other scalars through
    the type's own ``coerce_input_value``, as graphql-core calls it. Anything else (a
    missing required value, a null where none may be, an unknown field, a number for a
    String, a single value for a list, nesting deeper than _PLAIN_DEPTH) answers None,
    and graphql-core coerces the whole: its errors are the client's, word for word.
    tests/schema/test_compiled_operations.py holds it to ``get_variable_values``.

    Only for operations whose variables have no default value and whose arguments read
    a variable only as their whole value (``emails: $emails``): the coerced values then
    are all that graphql-core reads of them (``VariableValues.coerced``; its ``sources``,
    left empty, serve only to replace variables inside literals and to word errors)."""

    def __init__(self, variables: tuple[tuple[str, bool, _Coerce], ...]) -> None:
        self.variables = variables  # (name, required, coerce)

    @classmethod
    def of(cls, schema: GraphQLSchema, operation: OperationDefinitionNode) -> PlainVariables | None:
        made: dict[Any, _Coerce] = {}
        variables = []
        try:
            for definition in operation.variable_definitions or ():
                if definition.default_value is not None:
                    return None
                type_ = type_from_ast(schema, definition.type)
                if type_ is None:
                    return None
                required = isinstance(type_, GraphQLNonNull)
                name = definition.variable.name.value
                variables.append((name, required, _coercion(cast(Any, type_), made)))
        except _NotPlain:
            return None
        return cls(tuple(variables))

    def __call__(self, given: dict[str, Any]) -> VariableValues | None:
        coerced: dict[str, Any] = {}
        for name, required, coerce in self.variables:
            value = given.get(name, Undefined)
            if value is Undefined:
                if required:
                    return None
                continue  # a nullable variable not given is left out
            value = coerce(value, 0)
            if value is Undefined:
                return None
            coerced[name] = value
        return VariableValues({}, coerced)


def _coercion(type_: GraphQLInputType, made: dict[Any, _Coerce]) -> _Coerce:
    """The plain coercion of ``type_`` (made once per type of an operation: an input
    type may hold itself)."""
    known = made.get(type_)
    if known is not None:
        return known
    if isinstance(type_, GraphQLNonNull):
        of = type_.of_type
        # An enum's and these scalars' coercions give Undefined for a null themselves.
        if isinstance(of, GraphQLEnumType):
            return _enum_coercion(of)
        if isinstance(of, GraphQLScalarType) and of in _TYPED_SCALARS:
            return _scalar_coercion(of)
        if _is_texts(of):  # addresses: refuses a null itself, without a wrapper's call
            return _texts_coercion(of, made, nullable=False)
        inner = _coercion(of, made)

        def non_null(value: Any, depth: int) -> Any:
            return Undefined if value is None else inner(value, depth)

        return non_null
    if isinstance(type_, GraphQLList):
        return _list_coercion(type_, made)
    if isinstance(type_, GraphQLInputObjectType):
        return _object_coercion(type_, made)
    if isinstance(type_, GraphQLEnumType):
        return _nullable(_enum_coercion(type_))
    if isinstance(type_, GraphQLScalarType):
        return _nullable(_scalar_coercion(type_))
    raise _NotPlain


# The scalars whose plain coercion takes only a value of one Python type (never a null).
_TYPED_SCALARS: frozenset[Any] = frozenset({GraphQLString, GraphQLID, GraphQLBoolean, GraphQLInt})


def _nullable(coerce: _Coerce) -> _Coerce:
    def nullable(value: Any, depth: int) -> Any:
        return None if value is None else coerce(value, depth)

    return nullable


def _is_texts(type_: Any) -> TypeGuard[GraphQLList[Any]]:
    """A list of non-null Strings (or IDs)."""
    if not isinstance(type_, GraphQLList):
        return False
    of = type_.of_type
    return isinstance(of, GraphQLNonNull) and (
        of.of_type is GraphQLString or of.of_type is GraphQLID
    )


def _list_coercion(type_: GraphQLList[Any], made: dict[Any, _Coerce]) -> _Coerce:
    if _is_texts(type_):
        return _texts_coercion(type_, made)
    item: _Coerce | None = None

    def coerce(value: Any, depth: int) -> Any:
        if value is None:
            return None
        if type(value) is not list or depth >= _PLAIN_DEPTH:
            return Undefined  # a single value stands for a list of one: graphql-core's
        coerced = []
        for element in value:
            element = item(element, depth + 1)  # type: ignore[misc]
            if element is Undefined:
                return Undefined
            coerced.append(element)
        return coerced

    made[type_] = coerce
    item = _coercion(type_.of_type, made)
    return coerce


def _texts_coercion(
    type_: GraphQLList[Any], made: dict[Any, _Coerce], *, nullable: bool = True
) -> _Coerce:
    """A list of non-null Strings (or IDs): addresses, most of a batch's values. Each is
    its own coerced value, as coerce_string gives it; the list a new one, as graphql-core
    builds one. Not ``nullable`` (the list itself non-null): a null is not plain."""
    null = None if nullable else Undefined

    def coerce(value: Any, depth: int) -> Any:
        if value is None:
            return null
        if type(value) is not list or depth >= _PLAIN_DEPTH:
            return Undefined
        for element in value:
            if type(element) is not str:
                return Undefined
        return list(value)

    if nullable:  # the list type's own coercion (the non-null one is its wrapper's)
        made[type_] = coerce
    return coerce


def _object_coercion(type_: GraphQLInputObjectType, made: dict[Any, _Coerce]) -> _Coerce:
    """An input object: each field given coerced, each other field's default (as
    graphql-core takes it: the field's ``default_value`` itself), under their
    ``out_name``, in the order of the type's fields; through the type's ``out_type``.
    Where every field is required or has a default (an EmailInput), the coerced value
    starts as a copy of the defaults (``template``, in field order; a required field's
    place is kept by Undefined, and always filled: a value that lacks one is not plain)
    and only the fields given are looked at: an email gives 4 or 5 of its 14."""
    if type_.is_one_of:
        raise _NotPlain
    fields: list[tuple[str, str, _Coerce, bool, Any]] = []
    names = frozenset(type_.fields)
    out_type = type_.out_type
    # By name: its out_name and coercion; the names of required fields; the template.
    given: dict[str, tuple[str, _Coerce]] = {}
    required: frozenset[str] = frozenset()
    template: dict[str, Any] | None = None

    def coerce(value: Any, depth: int) -> Any:
        if value is None:
            return None
        if type(value) is not dict or depth >= _PLAIN_DEPTH or not names.issuperset(value):
            return Undefined
        coerced: dict[str, Any]
        if template is not None:
            if not value.keys() >= required:
                return Undefined
            coerced = template.copy()
            for name, field_value in value.items():
                out_name, field_coerce = given[name]
                field_value = field_coerce(field_value, depth + 1)
                if field_value is Undefined:
                    return Undefined
                coerced[out_name] = field_value
            return out_type(coerced)
        coerced = {}
        for name, out_name, field_coerce, is_required, default in fields:
            if name in value:
                field_value = field_coerce(value[name], depth + 1)
                if field_value is Undefined:
                    return Undefined
                coerced[out_name] = field_value
            elif is_required:
                return Undefined
            elif default is not Undefined:
                coerced[out_name] = default
        return out_type(coerced)

    made[type_] = coerce
    for name, field in type_.fields.items():
        if field.default is not None:  # a default given as a literal: graphql-core coerces it
            raise _NotPlain
        fields.append(
            (
                name,
                field.out_name or name,
                _coercion(field.type, made),
                is_required_input_field(field),
                field.default_value,
            )
        )
    for name, out_name, field_coerce, _, _ in fields:
        given[name] = (out_name, field_coerce)
    required = frozenset(name for name, _, _, is_required, _ in fields if is_required)
    if all(is_required or default is not Undefined for _, _, _, is_required, default in fields):
        template = {out_name: default for _, out_name, _, _, default in fields}
    return coerce


def _enum_coercion(type_: GraphQLEnumType) -> _Coerce:
    """An enum's name, coerced by the type and remembered (a name always gives the same
    member)."""
    known: dict[str, Any] = {}
    coerce_input = type_.coerce_input_value

    def coerce(value: Any, depth: int) -> Any:
        if type(value) is not str:
            return Undefined
        found = known.get(value, Undefined)
        if found is Undefined:
            try:
                found = coerce_input(value)
            except Exception:
                return Undefined
            if found is Undefined or len(known) >= len(type_.values):
                return found
            known[value] = found
        return found

    return coerce


def _scalar_coercion(type_: GraphQLScalarType) -> _Coerce:
    if type_ is GraphQLString or type_ is GraphQLID:
        return lambda value, depth: value if type(value) is str else Undefined
    if type_ is GraphQLBoolean:
        return lambda value, depth: value if type(value) is bool else Undefined
    if type_ is GraphQLInt:
        return lambda value, depth: (
            value if type(value) is int and _INT_MIN <= value <= _INT_MAX else Undefined
        )
    coerce_input = type_.coerce_input_value

    def coerce(value: Any, depth: int) -> Any:
        if type(value) not in _NEVER_AWAITABLE:  # JSON's values only
            return Undefined
        try:
            return coerce_input(value)
        except Exception:  # as graphql-core's coerce_input_value: not a value of the type
            return Undefined

    return coerce


# -- Running -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """What a plan's run shares with every field: the operation, the request's context
    and variables; and the objects of its answer, counted as they are made."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    operation: OperationDefinitionNode
    context: Any
    variables: Any  # graphql-core's VariableValues
    coerced: Any  # their coerced values (a dict)
    helpers: GraphQLResolveInfoHelpers
    # The answer's objects below its root, as count_objects counts them; not ``counted``
    # where a scalar serialized to a dict or a list (count_objects looks inside).
    objects: int = 0
    counted: bool = True
    # The awaitables that resolvers returned: closed where the run ends before they
    # started (_close_unstarted).
    resolving: list[Any] = dataclasses.field(default_factory=list)
    # What _repeating_list completed, per item completion: by the object's id, the object,
    # its answer and the objects it counted.
    repeats: dict[Complete, dict[int, tuple[Any, Any, int]]] = dataclasses.field(
        default_factory=dict
    )


def _close_unstarted(awaitables: Sequence[Any]) -> None:
    """Close the resolvers' coroutines that never started: a run cancelled (a client gone,
    a deadline) while its completions wait in tasks that have not run yet ends those
    tasks before they await their resolver, whose coroutine would be dropped unawaited
    (a RuntimeWarning, raised at whatever runs when it is collected)."""
    for awaitable in awaitables:
        if inspect.iscoroutine(awaitable) and (
            inspect.getcoroutinestate(awaitable) == inspect.CORO_CREATED
        ):
            awaitable.close()


async def _gather(values: Sequence[Awaitable[Any]]) -> list[Any]:
    return list(await asyncio.gather(*values))


async def run_plan(
    plan: Plan,
    *,
    context: Any,
    variables: dict[str, Any] | None,
    on_objects: Callable[[int], None] | None = None,
) -> ExecutionResult:
    """The plan's answer; raises (Unplanned, or what a resolver raised) where stock
    execution must answer instead. ``on_objects`` is told the answer's objects below its
    root (``count_objects`` of its data) where the run counted them."""
    given = variables or {}
    coerced = plan.plain_variables(given) if plan.plain_variables is not None else None
    if coerced is None:
        found = get_variable_values(
            plan.schema, plan.operation.variable_definitions or (), given, max_errors=50
        )
        if isinstance(found, list):
            raise Unplanned  # the variables' errors, as stock execution words them
        coerced = found
    run = _Run(
        plan.schema, plan.fragments, plan.operation, context, coerced, coerced.coerced, plan.helpers
    )
    try:
        data = _execute_fields(plan.fields, None, None, run)
        if _is_awaitable(data):
            data = await data
    except BaseException:
        _close_unstarted(run.resolving)
        raise
    if on_objects is not None and run.counted:
        on_objects(run.objects)
    return ExecutionResult(data, None)


async def execute_stock(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    execution_context_class: Any,
) -> ExecutionResult:
    """Stock execution: graphql-core's ``execute`` with Strawberry's execution context, as
    Strawberry's ``Schema.execute`` runs an operation once it is parsed and validated."""
    result = execute(
        schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=execution_context_class,
    )
    if isinstance(result, ExecutionResult):
        return result
    return cast(ExecutionResult, await cast(Any, result))


async def execute_operation(
    plan: Plan | None,
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    execution_context_class: Any,
    on_stock: Callable[[], None] | None = None,
    on_objects: Callable[[int], None] | None = None,
) -> ExecutionResult:
    """The operation's answer: its plan's where it has one that runs through, else stock
    execution's (``on_stock`` is told when a plan gave up; ``on_objects`` as run_plan
    tells it, where the plan answered)."""
    if plan is not None:
        try:
            return await run_plan(plan, context=context, variables=variables, on_objects=on_objects)
        except Exception:  # anything unexpected: stock execution answers, with its errors
            if on_stock is not None:
                on_stock()
    return await execute_stock(
        schema,
        document,
        context=context,
        variables=variables,
        operation_name=operation_name,
        execution_context_class=execution_context_class,
    )


def count_objects(data: Any) -> int:
    """The objects of an answer below its root (what an answer larger than its calculated
    cost is charged for)."""
    count = 0
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if value is not data:
                count += 1
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return count
