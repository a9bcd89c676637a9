"""How a query runs: Strawberry's execution context for graphql-core, with a fast path for
the fields that make up most of an answer.

A decision on an email of 10 recipients has more than a hundred leaf fields (address,
outcome, the flags, the explanation), each a plain attribute of a value that the field
above returned. graphql-core executes every field alike: it builds a resolve info, calls
Strawberry's resolver, asks whether the result is awaitable, then completes it through
the type's wrappers; that was most of the time GraphQL added to a decision. A *plain leaf
field* (a scalar or enum, possibly non-null, with no resolver, permission, extension or
argument of its own) needs only its attribute read and serialized, and that is what the
fast path does; an object in a list whose selected fields are all plain leaves (a
recipient) is built by one function compiled for the selection. Any other field, and any
value that does not serialize, take graphql-core's own path, which raises the errors the
specification asks for.
"""

from __future__ import annotations

import contextlib
import keyword
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeGuard

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    specified_scalar_types,
)
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, gather_with_cancel
from graphql.pyutils import is_awaitable as is_awaitable_value
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema.context import Context

# A plain leaf field: how to read its value, how to serialize it, whether it may be null,
# the Python type that serializes to itself (str for String and ID, bool for Boolean, as
# graphql-core's serializers do), for an enum what its members serialized to so far, and
# whether it is an Int (an int within 32 bits serializes to itself); None for any other
# field. Known fields by parent type and name.
_Plain = tuple[
    Callable[[Any], Any], Callable[[Any], Any], bool, type | None, dict[Any, Any] | None, bool
]
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_AS_IS: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}
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
    leaf = output.of_type if isinstance(output, GraphQLNonNull) else output
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
    known = None
    if isinstance(leaf, GraphQLEnumType):
        serialize, known = _remembered(serialize)
    as_is = _AS_IS.get(leaf.name) if leaf is specified_scalar_types.get(leaf.name) else None
    is_int = leaf is specified_scalar_types.get("Int")
    return read, serialize, nullable, as_is, known, is_int


def _remembered(
    serialize: Callable[[Any], Any],
) -> tuple[Callable[[Any], Any], dict[Any, Any]]:
    """An enum's serializer that remembers what each member serializes to (an enum has
    few members, and Strawberry's serializer searches them all), and what it remembers."""
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

    return remembered, known


_MISS: Any = object()


def _plain_of(parent_type: GraphQLObjectType, name: str) -> _Plain | None:
    known = _PLAINS.get(parent_type)
    if known is None:
        known = _PLAINS[parent_type] = {}
    plain = known.get(name, _UNKNOWN)
    if plain is _UNKNOWN:
        plain = known[name] = _plain_leaf(parent_type.fields.get(name))
    return plain  # type: ignore[no-any-return]


def _value(plain: _Plain, source: Any) -> Any:
    """The serialized value of a plain leaf field, or _MISS where graphql-core's own path
    must decide (an error, a null where none may be, a value that does not serialize)."""
    try:
        value = plain[0](source)
    except Exception:
        return _MISS
    return _settled(plain, value)


def _settled(plain: _Plain, value: Any) -> Any:
    """The serialized form of a plain leaf field's ``value``, or _MISS (as _value)."""
    _, serialize, nullable, as_is, _, _ = plain
    if type(value) is as_is:
        return value
    if value is None:
        return None if nullable else _MISS
    if isinstance(value, Exception):
        return _MISS
    try:
        serialized = serialize(value)
    except Exception:
        return _MISS
    return _MISS if serialized is None or serialized is Undefined else serialized


# Builders of objects (_builder), by object type and the selected fields' (response name,
# field name, whether a plain leaf): made once per selection, shared by every request. A
# hostile client could make selections without end (aliases): past this many, a
# selection not yet known is completed field by field, as any other.
_BUILDERS: dict[
    tuple[GraphQLObjectType, tuple[tuple[str, str, bool], ...]], Callable[[Any], Any]
] = {}
_MAX_BUILDERS = 500


def _attribute(read: Callable[[Any], Any]) -> str | None:
    """The attribute that ``read`` reads, where it is an attrgetter of one plain name."""
    if type(read) is not attrgetter:
        return None
    arguments: Any = read.__reduce__()[1]
    name = arguments[0] if len(arguments) == 1 else None
    if isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name):
        return name
    return None


def _builder(
    object_type: GraphQLObjectType,
    fields: tuple[tuple[str, str, bool], ...],
    plains: list[_Plain | None],
) -> Callable[[Any], Any] | None:
    """One function that builds the answer of an object from its plain leaf fields (all
    of a recipient's; a decision's but its recipients), or _MISS where a value does not
    complete plainly (then graphql-core's path completes the object, field by field, with
    its own errors). ``fields``: each field's response name, name, and whether it is a
    plain leaf (``plains`` holds how to read it, else None); any other field gets its
    place in the answer (a null), for the executor to fill, so that the answer keeps the
    order of the selection. A field's value that is its own serialized form (a str for
    String) is taken at once; any other goes through _settled. The function is written
    out for the fields (an attribute read, a type check, a dict display) and compiled: a
    loop over the fields cost a sixth of a batch's answer."""
    key = (object_type, fields)
    known = _BUILDERS.get(key)
    if known is not None or len(_BUILDERS) >= _MAX_BUILDERS:
        return known
    names: dict[str, Any] = {"_MISS": _MISS, "_settled": _settled}
    lines = ["def build(item):", "    try:"]
    for index, plain in enumerate(plains):
        v, p = f"v{index}", f"p{index}"
        if plain is None:
            lines.append(f"        {v} = None  # the executor's to fill")
            continue
        read, _, nullable, as_is, members, is_int = plain
        names[p] = plain
        attribute = _attribute(read)
        if attribute is not None:
            lines.append(f"        {v} = item.{attribute}")
        else:
            names[f"r{index}"] = read
            lines.append(f"        {v} = r{index}(item)")
        # What a value must be to be its own serialized form; any other is settled. A
        # null where one may be is taken as it is.
        settle = [f"{v} = _settled({p}, {v})"]
        condition = None
        if as_is is not None:
            names[f"t{index}"] = as_is
            condition = f"type({v}) is not t{index}"
        elif members is not None:  # an enum: the member's serialized form if known
            names[f"k{index}"] = members
            settle = [
                f"w = k{index}.get({v}, _MISS)",
                f"{v} = _settled({p}, {v}) if w is _MISS else w",
            ]
        elif is_int:
            condition = f"type({v}) is not int or not {_INT_MIN} <= {v} <= {_INT_MAX}"
        if nullable:
            condition = f"{v} is not None" + (f" and ({condition})" if condition else "")
        settle += [f"if {v} is _MISS:", "    return _MISS"]
        if condition is None:
            lines.extend(f"        {line}" for line in settle)
        else:
            lines.append(f"        if {condition}:")
            lines.extend(f"            {line}" for line in settle)
    lines.append("    except Exception:")
    lines.append("        return _MISS")
    for index, (response_name, _, _) in enumerate(fields):
        names[f"n{index}"] = response_name
    display = ", ".join(f"n{index}: v{index}" for index in range(len(fields)))
    lines.append(f"    return {{{display}}}")
    exec(compile("\n".join(lines), f"<builder of {object_type.name}>", "exec"), names)
    built: Callable[[Any], Any] = names["build"]
    _BUILDERS[key] = built
    return built


# A field resolved directly (ExecutionContext._resolve): its definition, its return type,
# and its resolve function (Strawberry's resolver, unwrapped where it may be; None for the
# executor's default).
_Direct = tuple[GraphQLField, Any, Callable[[Any, Any], Any] | None]
_DIRECTS: dict[tuple[GraphQLObjectType, str], _Direct | None] = {}


def _direct_of(schema: Any, parent_type: GraphQLObjectType, name: str) -> _Direct | None:
    """How to resolve a field of ``parent_type`` that is no plain leaf, without graphql-core's
    execute_field around it; None where the field has arguments (or is unknown).

    A field of Strawberry's with a resolver of its own that is plain (synchronous, with no
    argument, extension or permission: the recipients of a decision, which applies the
    viewer's privacy) is resolved as Strawberry's resolver resolves it, without the layers
    that Strawberry wraps around every resolver for extensions; any other by the resolve
    function that graphql-core would call."""
    key = (parent_type, name)
    if key in _DIRECTS:
        return _DIRECTS[key]
    field = parent_type.fields.get(name)
    direct: _Direct | None = None
    if field is not None and not field.args:
        resolve = field.resolve
        definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        strawberry_schema = getattr(schema, "_strawberry_schema", None)
        if (
            isinstance(definition, StrawberryField)
            and definition.base_resolver is not None
            and not definition.extensions
            and not definition.arguments
            and not definition.is_async
            and strawberry_schema is not None
            and not strawberry_schema.schema_converter.exception_handlers
        ):
            resolve = _unwrapped(definition, strawberry_schema.config)
        direct = (field, field.type, resolve)
    _DIRECTS[key] = direct
    return direct


def _unwrapped(definition: StrawberryField, config: Any) -> Callable[[Any, Any], Any]:
    """Strawberry's resolver of a plain field (see _direct_of), called as Strawberry calls
    it (schema_converter's get_arguments, then StrawberryField.get_result): with no
    argument to convert, the source as ``self`` and as the root or parent parameter where
    the resolver takes them, and its Info, made from graphql-core's, where it asks for it."""
    resolver = definition.base_resolver
    assert resolver is not None
    info_class = config.info_class
    takes_self = resolver.self_parameter is not None
    roots = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    def resolve(source: Any, raw_info: Any) -> Any:
        kwargs = {name: source for name in roots}
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=raw_info, _field=definition)
        return resolver(source, **kwargs) if takes_self else resolver(**kwargs)

    return resolve


_SEQUENCES = (list, tuple)
# A field of an object in a list: its response name, its plain leaf (None for any other
# field), its field details, as graphql-core groups them, and for a field that is not a
# plain leaf, how to resolve it directly (_Direct; None where graphql-core's execute_field
# must).
_Planned = tuple[str, "_Plain | None", Any, "_Direct | None"]
# The fields of an object in a list, the builder of its plain leaf fields (_builder; None
# where it has none), and the fields that the builder leaves to the executor.
_Plan = tuple[tuple[_Planned, ...], "Callable[[Any], Any] | None", tuple[_Planned, ...]]


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain leaf fields read and serialized at once,
    and lists of objects (a decision's recipients, a batch's decisions) built in one loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per execution: how the fields of an object in a list complete (complete_list_value);
        # the grouped field set is kept alive with its entry, so that its id is not reused.
        self._plans: dict[int, tuple[Any, _Plan]] = {}
        # Where the objects built are counted (Context.objects), if the context counts them.
        self._counted = self.context_value if isinstance(self.context_value, Context) else None

    def build_response(self, data: dict[str, Any] | None) -> Any:
        """The answer, and the cycle through which graphql-core's context keeps itself
        alive undone where no work of the execution is left (its helpers for resolvers
        hold its own methods): freed at once, it no longer holds the request's variables
        (a batch's hundred emails) and results until the collector finds them."""
        response = super().build_response(data)
        if not (
            self.background_futures
            or self.pending_incremental_futures
            or self.async_work_finished_hook_task is not None
        ):
            self.async_helpers = None  # type: ignore[assignment]
        return response

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if path is not None and self._counted is not None:
            self._counted.objects += 1  # an object below the root
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def complete_list_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list of objects (the recipients of a decision, the decisions of a batch)
        completed in one loop, as graphql-core completes each item (complete_value, then
        execute_fields), without its machinery per item: an item's plain leaves are built
        at once by its selection's builder, another field is resolved directly (_resolve)
        or, where it has arguments, by execute_field, with the path graphql-core would give
        it, and an item whose leaves do not complete plainly goes field by field. Lists of
        anything else, and objects with is_type_of or deferred fields, take graphql-core's
        own path."""
        if (
            position_context is None
            and self.middleware_manager is None
            and type(result) in _SEQUENCES
        ):
            item_type = return_type.of_type
            object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
            if isinstance(object_type, GraphQLObjectType) and object_type.is_type_of is None:
                grouped_field_set, deferred, _ = self.collect_subfields(
                    object_type, field_details_list
                )
                if not deferred:
                    plan = self._plan(object_type, grouped_field_set)
                    return self._objects(
                        object_type, item_type, field_details_list, info, path, result, plan
                    )
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _objects(
        self,
        object_type: GraphQLObjectType,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: Any,
        plan: _Plan,
    ) -> Any:
        fields, build, others = plan
        if build is not None and not others:
            # Every item an object that builds at once (a decision's recipients): one loop.
            # An item that does not (a null, a value to settle by graphql-core's path)
            # sends the whole list down the general path below, which builds what it can
            # again: building only reads plain attributes.
            built_all: list[Any] = []
            add = built_all.append
            for item in items:
                built = _MISS if item is None else build(item)
                if built is _MISS:
                    break
                add(built)
            else:
                if self._counted is not None:
                    self._counted.objects += len(built_all)
                return built_all
        completed: list[Any] = []
        waiting: list[tuple[int, dict[str, Any], list[str], Any]] = []
        try:
            append = completed.append
            nullable = not isinstance(item_type, GraphQLNonNull)
            type_name = object_type.name
            for index, item in enumerate(items):
                if item is None:
                    if nullable:
                        append(None)
                        continue
                    # graphql-core's own error for a null where none may be
                    item_path = Path(path, index, None)
                    try:
                        self.complete_value(
                            item_type, field_details_list, info, item_path, item, None
                        )
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    append(None)
                    continue
                # The plain leaves at once where they complete so (the rest is filled in
                # below), else every field by itself.
                results: dict[str, Any] = _MISS if build is None else build(item)
                todo = others
                if results is _MISS:
                    results, todo = {}, fields
                pending: list[str] = []
                try:
                    for response_name, plain, field_details, direct in todo:
                        if plain is not None:
                            # (only where the builder could not: past its bound, or an
                            # item with a value for graphql-core's own path)
                            value = _value(plain, item)
                            if value is not _MISS:
                                results[response_name] = value
                                continue
                        field_path = Path(Path(path, index, None), response_name, type_name)
                        value = (
                            self.execute_field(object_type, item, field_details, field_path, None)
                            if direct is None
                            else self._resolve(direct, object_type, item, field_details, field_path)
                        )
                        if value is Undefined:
                            results.pop(response_name, None)  # a place the builder kept
                            continue
                        results[response_name] = value
                        if self.is_awaitable(value):
                            pending.append(response_name)
                except Exception as raw_error:
                    if pending:
                        self.settle_in_background([results[name] for name in pending])
                    item_path = Path(path, index, None)
                    # raises where the item may not be null: the list's own error then
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    append(None)
                    continue
                if pending:
                    waiting.append((index, results, pending, Path(path, index, None)))
                append(results)
                if self._counted is not None:
                    self._counted.objects += 1
        except Exception:
            # As graphql-core does: what other items were awaiting is settled, not dropped.
            if waiting:
                self.settle_in_background(
                    [r[name] for _, r, pending, _ in waiting for name in pending]
                )
            raise
        if not waiting:
            return completed
        return self._await_objects(completed, waiting, item_type, field_details_list)

    async def _await_objects(
        self,
        completed: list[Any],
        waiting: list[tuple[int, dict[str, Any], list[str], Any]],
        item_type: Any,
        field_details_list: Any,
    ) -> list[Any]:
        """The objects whose fields had to be awaited, each as graphql-core awaits an
        item: an error of the item nulls it where it may be null, else the list's."""

        async def item(results: dict[str, Any], pending: list[str], item_path: Any) -> Any:
            try:
                values = await gather_with_cancel(*(results[name] for name in pending))
            except Exception as raw_error:
                self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                return None
            results.update(zip(pending, values, strict=True))
            return results

        done = await gather_with_cancel(*(item(r, p, at) for _, r, p, at in waiting))
        for (index, *_), value in zip(waiting, done, strict=True):
            completed[index] = value
        return completed

    def _resolve(
        self,
        direct: _Direct,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
    ) -> Any:
        """A field of an object in a list, as graphql-core's execute_field executes it
        (resolve, then complete, an error handled where the field is), less its look-ups
        and layers: the field and how to resolve it were found once (_direct_of), and a
        list that the resolver returns completes at once (complete_list_value)."""
        field, return_type, resolve = direct
        info = self.build_resolve_info(field, to_nodes(field_details_list), parent_type, path)
        try:
            result = (resolve or self.field_resolver)(source, info)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, None
                )
            list_type = (
                return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
            )
            if isinstance(list_type, GraphQLList) and type(result) in _SEQUENCES:
                completed = self.complete_list_value(
                    list_type, field_details_list, info, path, result, None
                )
            else:
                completed = self.complete_value(
                    return_type, field_details_list, info, path, result, None
                )
            if self.is_awaitable(completed):
                return self._completed_later(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _completed_later(
        self, completed: Any, return_type: Any, field_details_list: Any, path: Any
    ) -> Any:
        """A completion awaited, its error handled where the field is (as execute_field)."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _plan(self, object_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan:
        known = self._plans.get(id(grouped_field_set))
        if known is not None:
            return known[1]
        fields = []
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            plain = direct = None
            if not node.arguments:
                plain = _plain_of(object_type, node.name.value)
                if plain is None:
                    direct = _direct_of(self.schema, object_type, node.name.value)
            fields.append((response_name, plain, details, direct))
        others = tuple(field for field in fields if field[1] is None)
        build = None
        if len(others) < len(fields):
            selection = tuple(
                (response_name, details[0].node.name.value, plain is not None)
                for response_name, plain, details, _ in fields
            )
            build = _builder(object_type, selection, [plain for _, plain, _, _ in fields])
        plan = (tuple(fields), build, others)
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        if not node.arguments and self.middleware_manager is None:
            plain = _plain_of(parent_type, node.name.value)
            if plain is not None:
                value = _value(plain, source)
                if value is not _MISS:
                    return value
            elif position_context is None:
                direct = _direct_of(self.schema, parent_type, node.name.value)
                if direct is not None:
                    return self._resolve(direct, parent_type, source, field_details_list, path)
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
