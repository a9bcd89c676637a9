"""What the GraphQL view remembers of a query text: its parsed and validated document and,
where a measure reads no variable, its measure. Bounded in bytes, never in entries: a
pipeline sends the same few queries again and again; a hostile client sends thousands of
distinct large ones, and none of them may grow the process.

- A text longer than ``longest`` characters (16 KiB by default) is never kept: it is
  parsed, validated and measured for its one request, and charged by its size.
- An entry weighs an estimate of its memory: 100 bytes per character of the text (a
  parsed document takes 55 to 80 per character, its validation and measures less) plus
  1 KiB. Past ``max_bytes`` (32 MiB by default) the least recently used entries go.
- One cache per view, and one view per process: every request of the process shares it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError

BYTES_PER_CHARACTER = 100
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


def weight(text: str) -> int:
    return ENTRY_OVERHEAD + BYTES_PER_CHARACTER * len(text)


class QueryCache:
    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, longest: int = DEFAULT_LONGEST):
        self.max_bytes = max_bytes
        self.longest = longest
        self.bytes = 0
        self._entries: OrderedDict[str, Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> Prepared | None:
        found = self._entries.get(text)
        if found is not None:
            self._entries.move_to_end(text)
        return found

    def put(self, text: str, prepared: Prepared) -> None:
        """Keep ``prepared`` unless the text is too long to keep."""
        size = weight(text)
        if len(text) > self.longest or size > self.max_bytes or text in self._entries:
            return
        self._entries[text] = prepared
        self.bytes += size
        while self.bytes > self.max_bytes:
            old, _ = self._entries.popitem(last=False)
            self.bytes -= weight(old)
