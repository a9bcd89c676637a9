"""The GraphQL schema: Strawberry types, queries, mutations, permissions and error mapping."""

from __future__ import annotations

from schema.build import build_schema, graphql_schema

__all__ = ["build_schema", "graphql_schema"]
