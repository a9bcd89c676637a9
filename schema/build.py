"""Assembling the schema from the query and mutation classes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.decisions import DecisionMutation, DecisionQuery, EmailLoggingSimulation
from schema.internal_domains import InternalDomainsMutation
from schema.invitations import InvitationMutation
from schema.live import Subscription
from schema.mutations import CoreMutation
from schema.query import CoreQuery
from schema.types import Account, ApiToken, AuditEvent, NeverLogEntry, User
from schema.webhooks import WebhookDelivery, WebhookEndpoint, WebhookMutation, WebhookQuery


@strawberry.type
class Query(CoreQuery, DecisionQuery, WebhookQuery):
    pass


@strawberry.type
class Mutation(
    CoreMutation, DecisionMutation, WebhookMutation, InternalDomainsMutation, InvitationMutation
):
    pass


@functools.cache
def build_schema() -> strawberry.Schema:
    """The schema, built once per process (every app of the process serves the same)."""
    # No schema extension but _SchemaOfInfo, which does nothing once graphql_schema has
    # run: the HTTP view (api/graphql_http.py) parses, validates (both cached per query
    # text) and executes itself (schema/compiled_operations.py), and maps errors in one place.
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Account,
            User,
            NeverLogEntry,
            ApiToken,
            AuditEvent,
            EmailLoggingSimulation,
            WebhookEndpoint,
            WebhookDelivery,
        ],
        config=StrawberryConfig(auto_camel_case=True),
        extensions=[_SchemaOfInfo],
    )


class _SchemaOfInfo(SchemaExtension):
    """Tells graphql_schema the graphql-core schema that resolvers see in their info."""

    seen: list[GraphQLSchema] = []  # noqa: RUF012 (written once, by graphql_schema)

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if not self.seen:
            self.seen.append(info.schema)
        return _next(root, info, *args, **kwargs)


@functools.cache
def graphql_schema() -> GraphQLSchema:
    """The graphql-core schema that Strawberry built for build_schema(), on which the view
    validates, measures and executes.

    Strawberry has no public accessor for it, but its documented ``resolve`` hook of a
    schema extension receives graphql-core's resolve info, whose ``schema`` it is: one
    ``{ __typename }`` run through Strawberry's own ``execute_sync`` finds it."""
    result = build_schema().execute_sync("{ __typename }")
    assert not result.errors, result.errors
    (found,) = _SchemaOfInfo.seen
    return found
