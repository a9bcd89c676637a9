"""Assembling the schema from the query and mutation classes."""

from __future__ import annotations

import functools

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.decisions import DecisionMutation, DecisionQuery, EmailLoggingSimulation
from schema.internal_domains import InternalDomainsMutation
from schema.invitations import InvitationMutation
from schema.live import Subscription
from schema.mutations import CoreMutation
from schema.query import CoreQuery
from schema.types import Account, ApiToken, AuditEvent, NeverLogEntry, User
from schema.variables import install as install_variable_plans
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
    # No schema extensions: the HTTP view (api/graphql_http.py) parses, validates (both
    # cached per query text) and executes itself, and maps errors in one place.
    install_variable_plans()
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
    )
