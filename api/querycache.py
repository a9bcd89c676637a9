"""What the GraphQL view remembers of a query text, by the text's SHA-256: its parsed and
validated document, where a measure reads no variable its measure, and each operation's
plan (schema/compiled_operations.py). The hash is also what a client sends instead of the
text (automatic persisted queries, docs/api.md). Bounded in bytes, never in entries: a
pipeline sends the same few queries again and again; a hostile client sends thousands of
distinct large ones, and none of them may grow the process.

- A text longer than ``longest`` characters (16 KiB by default) is never kept: it is
  parsed, validated and measured for its one request, and charged by its size.
- An entry weighs an estimate of its memory: 150 bytes per character of the text (a
  parsed document takes 55 to 80 per character, its plans about as much again, its
  measures less) plus 1 KiB. Past ``max_bytes`` (32 MiB by default) the least recently used entries go.
- One cache per view, and one view per process: every request of the process shares it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError

BYTES_PER_CHARACTER = 150
ENTRY_OVERHEAD = 1024
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_LONGEST = 16 * 1024


@dataclass(slots=True)
class Prepared:
    """A query text parsed (document None where it did not parse) and validated."""

    document: DocumentNode | None
    errors: list[GraphQLError]
    # Measures that read no variable, by operation name.
    measures: dict[str | None, Any] = field(default_factory=dict)
    # The measures of its selection sets that read no variable (schema.limits.measure's
    # ``unchanging``): what a request whose variables change its measure still shares.
    parts: dict[Any, Any] = field(default_factory=dict)
    # Plans (schema.compiled_operations.Plan, or None where an operation has none), by
    # operation name.
    plans: dict[str | None, Any] = field(default_factory=dict)
    # The text's length, for the entry's weight.
    length: int = 0


def sha256(text: str) -> str:
    """The key of a text: its SHA-256 in hexadecimal, as Apollo's persisted queries name it."""
    return hashlib.sha256(text.encode()).hexdigest()


def weight(length: int) -> int:
    return ENTRY_OVERHEAD + BYTES_PER_CHARACTER * length


class QueryCache:
    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, longest: int = DEFAULT_LONGEST):
        self.max_bytes = max_bytes
        self.longest = longest
        self.bytes = 0
        self._entries: OrderedDict[str, Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Prepared | None:
        """What is kept for the text whose SHA-256 is ``key``."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: str, prepared: Prepared) -> None:
        """Keep ``prepared`` under ``key`` unless its text is too long to keep."""
        size = weight(prepared.length)
        if prepared.length > self.longest or size > self.max_bytes or key in self._entries:
            return
        self._entries[key] = prepared
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self.bytes -= weight(old.length)
