"""GraphiQL as this service serves it: a page of api/static/ whose scripts and styles are
shipped in the package (api/static/graphiql/, from the npm packages at the versions the
Makefile pins), so that it works with no access to any other host; its Content-Security-Policy
allows nothing else."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).with_name("static")
# GraphiQL's editor sets style attributes and its stylesheet carries fonts and images as
# data: URLs; scripts and requests go to this origin only.
GRAPHIQL_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def graphiql_html() -> str:
    return (STATIC / "graphiql.html").read_text(encoding="utf-8")
