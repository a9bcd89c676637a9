"""A bounded cache for parsing functions of one string."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

_T = TypeVar("_T")

LONGEST_CACHED = 512
"""Longer inputs are not cached, so that a few huge ones cannot fill memory.
No valid address or pattern is this long (save one with a long display name)."""
CAPACITY = 4096
_ABSENT: Any = object()


def cached(function: Callable[[str], _T]) -> Callable[[str], _T]:
    """``function`` with a cache of at most CAPACITY results, in two generations of plain
    dictionaries: results go into the young one; when it is full it becomes the old one
    (the old one is dropped), and a result found in the old one moves to the young one.
    What is asked for again stays; a hit is one look-up, cheaper than the bookkeeping of
    functools.lru_cache, which the decision's hot path felt (two parses a recipient)."""
    young: dict[str, _T] = {}
    old: dict[str, _T] = {}

    @wraps(function)
    def call(text: str) -> _T:
        nonlocal young, old
        found = young.get(text, _ABSENT)
        if found is not _ABSENT:
            return found  # type: ignore[no-any-return]
        found = old.get(text, _ABSENT)
        if found is _ABSENT:
            found = function(text)
            if len(text) > LONGEST_CACHED:
                return found
        if len(young) >= CAPACITY // 2:
            young, old = {}, young
        young[text] = found
        return found  # type: ignore[no-any-return]

    return call
