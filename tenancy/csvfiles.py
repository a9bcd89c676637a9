"""The CSV form of a list (RFC 4180: CRLF line ends, fields quoted only where needed)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

HEADER = ("pattern", "kind", "created_at", "created_by")
_KINDS = {"ADDRESS", "DOMAIN", "SUBDOMAINS"}


@dataclass(frozen=True, slots=True)
class CsvRow:
    pattern: str
    kind: str
    created_at: str
    created_by: str


def write_csv(rows: Iterable[CsvRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow((row.pattern, row.kind, row.created_at, row.created_by))
    return out.getvalue()


def read_patterns(text: str) -> list[tuple[int, str]]:
    """The patterns of an import with the line each stands on: a file as exported (the
    first column), or a plain list of patterns (one or more per line, separated by commas
    or semicolons), with or without the header line."""
    found: list[tuple[int, str]] = []
    # newline="": the csv module reads the line ends itself, so a file with old Mac line ends
    # (a lone CR) reads as lines rather than failing. Raises csv.Error where a field is longer
    # than the csv module reads (csv.field_size_limit()).
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), skipinitialspace=True)
    header_seen = False
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not header_seen and not found:
            header_seen = True
            if cells[0].lower() == "pattern":
                continue
        if len(cells) >= 2 and cells[1].upper() in _KINDS:
            found.append((reader.line_num, cells[0]))
            continue
        for cell in cells:
            found.extend(
                (reader.line_num, item.strip()) for item in cell.split(";") if item.strip()
            )
    return found
