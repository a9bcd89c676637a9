"""Assembling the schema, with the extensions that every request shares."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from schema.decisions import DecisionMutation, DecisionQuery, EmailLoggingSimulation
from schema.mutations import CoreMutation
from schema.query import CoreQuery
from schema.types import Account, ApiToken, AuditEvent, NeverLogEntry, User


@strawberry.type
class Query(CoreQuery, DecisionQuery):
    pass


@strawberry.type
class Mutation(CoreMutation, DecisionMutation):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors are logged where they are masked (schema/errors.py): an error meant for
        the client is not a server fault, and needs no trace in the log."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Account, User, NeverLogEntry, ApiToken, AuditEvent, EmailLoggingSimulation],
        # The HTTP view (api/graphql_http.py) parses, validates and executes itself;
        # these caches serve callers of ``schema.execute``. Given as factories, they still
        # share one module-level cache between requests.
        extensions=[
            lambda: ParserCache(maxsize=1000),
            lambda: ValidationCache(maxsize=1000),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
