"""A bounded cache for parsing functions of one string."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

_T = TypeVar("_T")

LONGEST_CACHED = 512
"""Longer inputs are not cached, so that a few huge ones cannot fill memory.
No valid address or pattern is this long (save one with a long display name)."""


def cached(function: Callable[[str], _T]) -> Callable[[str], _T]:
    """``function`` with a cache of its last few thousand results."""
    remembered = lru_cache(maxsize=4096)(function)

    @wraps(function)
    def call(text: str) -> _T:
        return remembered(text) if len(text) <= LONGEST_CACHED else function(text)

    return call
