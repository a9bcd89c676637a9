"""Measurements of the pages in Debian's Chromium, against a real ``neverlog serve`` of the
checkout it runs from (run it from an older checkout for a "before"):

    .venv/bin/python -m tests.browser.measure graphiql   # axe-core's failing rules in GraphiQL
    .venv/bin/python -m tests.browser.measure fold       # a page of 25 entries at 390 px

``graphiql`` runs axe-core (WCAG 2.2 A and AA, as the browser tests do) in four states: as
GraphiQL opens, with an answer, with the explorer open, with the docs open; ``fold`` prints
the heights of the personal list's card, its table and each entry at 390 x 844."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.browser.conftest import AXE_TAGS, CHROMIUM, CHROMIUM_ARGS, _axe_source, fill_list
from tests.live_server import LiveServer, live_server

AXE_RUN = (
    "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
    " return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})); }"
)


def graphiql(server: LiveServer, page: Any) -> None:
    axe = _axe_source()
    page.goto(server.url + "/graphql")
    page.wait_for_selector(".graphiql-container", timeout=30_000)
    page.wait_for_timeout(3000)  # the editors and the schema settle

    def check(state: str) -> None:
        page.evaluate(axe + "\n;void 0")
        found = page.evaluate(AXE_RUN, AXE_TAGS)
        rules = ", ".join(f"{v['id']} ({v['impact']}, {v['nodes']})" for v in found) or "none"
        print(f"{state}: {len(found)} failing rules: {rules}")

    check("opened")
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    page.wait_for_timeout(2000)
    check("with an answer")
    explorer = page.get_by_role("button", name="Show GraphiQL Explorer")
    if explorer.count():
        explorer.click()
        page.wait_for_timeout(1500)
        check("explorer open")
    page.get_by_role("button", name="Show Documentation Explorer").click()
    page.wait_for_timeout(1500)
    check("docs open")


def fold(server: LiveServer, page: Any) -> None:
    token = server.create_account("Acme", "admin@acme-corp.com")["token"]
    patterns = ["*@lawfirm.com", *(f"person{i:03d}@example{i % 7}.com" for i in range(29))]
    fill_list(server, token, "PERSONAL", patterns)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#personal tbody tr:nth-child(25)")
    card, table, rows = page.evaluate(
        "() => { const s = document.querySelector('#personal'), h = (e) => e.getBoundingClientRect().height;"
        " return [h(s), h(s.querySelector('table')), [...s.querySelectorAll('tbody tr')].map(h)]; }"
    )
    print(
        f"390 x 844: the card {card:.0f} px ({card / 844:.2f} screens), its table of 25 "
        f"{table:.0f} px, an entry {min(rows):.0f} to {max(rows):.0f} px"
    )


MEASUREMENTS: dict[str, Callable[[LiveServer, Any], None]] = {"graphiql": graphiql, "fold": fold}


def main(name: str) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_server(Path(tmp)) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            MEASUREMENTS[name](server, page)
        finally:
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "graphiql")
