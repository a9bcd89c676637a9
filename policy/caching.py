"""A bounded cache for parsing functions of one string."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

LONGEST_CACHED = 512
"""Longer inputs are not cached, so that a few huge ones cannot fill memory.
No valid address or pattern is this long (save one with a long display name)."""
CAPACITY = 4096
_ABSENT: Any = object()


class Cached(Protocol[_T_co]):
    """A cached function of one string, and the young generation of its cache (``young``:
    the same dictionary for as long as the function lives), which a hot loop may read
    first and so spare itself a call where the text was met a moment ago."""

    @property
    def young(self) -> Mapping[str, _T_co]: ...

    def __call__(self, text: str, /) -> _T_co: ...


def cached(function: Callable[[str], _T]) -> Cached[_T]:
    """``function`` with a cache of at most CAPACITY results, in two generations of plain
    dictionaries: results go into the young one; when it is full its results become the
    old one (the old one's are dropped), and a result found in the old one moves to the
    young one. What is asked for again stays; a hit is one look-up, cheaper than the
    bookkeeping of functools.lru_cache, which the decision's hot path felt."""
    young: dict[str, _T] = {}
    old: dict[str, _T] = {}

    @wraps(function)
    def call(text: str) -> _T:
        nonlocal old
        found = young.get(text, _ABSENT)
        if found is not _ABSENT:
            return found  # type: ignore[no-any-return]
        found = old.get(text, _ABSENT)
        if found is _ABSENT:
            found = function(text)
            if len(text) > LONGEST_CACHED:
                return found
        if len(young) >= CAPACITY // 2:
            old = young.copy()  # the young dictionary itself stays: callers may hold it
            young.clear()
        young[text] = found
        return found  # type: ignore[no-any-return]

    call.young = young  # type: ignore[attr-defined]
    return call  # type: ignore[return-value]
