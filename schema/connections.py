"""Cursor connections: ``first`` at most 100 (50 by default), ``totalCount``, keyset cursors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from policy.errors import BadUserInput
from tenancy.records import Page

DEFAULT_PAGE = 50
MAX_PAGE = 100

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[R], node: Callable[[R], T]) -> Connection[T]:
        edges = [
            Edge(cursor=c, node=node(row)) for row, c in zip(page.rows, page.cursors, strict=True)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            total_count=page.total,
        )


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 <= first <= MAX_PAGE:
        raise BadUserInput(
            f"first must be between 0 and {MAX_PAGE}; got {first}.",
            argument="first",
            limit=MAX_PAGE,
        )
    return first
