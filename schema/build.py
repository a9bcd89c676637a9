"""Assembling the schema, with the extensions that every request shares."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from schema.errors import MaskUnexpectedErrors
from schema.mutations import CoreMutation
from schema.query import CoreQuery
from schema.types import Account, ApiToken, AuditEvent, NeverLogEntry, User


@strawberry.type
class Query(CoreQuery):
    pass


@strawberry.type
class Mutation(CoreMutation):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors are logged where they are masked (schema/errors.py): an error meant for
        the client is not a server fault, and needs no trace in the log."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Account, User, NeverLogEntry, ApiToken, AuditEvent],
        # Extensions are given as classes: Strawberry makes one instance per operation.
        # The parser and validation caches keep their cache on the class, so it is shared
        # between requests.
        extensions=[
            MaskUnexpectedErrors,
            ParserCache(maxsize=1000),
            ValidationCache(maxsize=1000),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
