"""GraphiQL in Debian's Chromium with the network to every other host cut: it loads from this
service alone, opens with the example decision and the Authorization template, runs it, shows
the explorer and the docs, and passes axe-core but for its tabs' own markup."""

from __future__ import annotations

from tests.browser.conftest import Browser, sync_api

# GraphiQL's tab is an <li role="tab"> holding its own buttons (select, close): its markup,
# not something a stylesheet or a label of ours can change.
GRAPHIQL_OWN = frozenset({"nested-interactive"})


def test_graphiql_works_offline_with_the_example_and_the_header_template(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page

    # when
    page.goto(browser.server.url + "/graphql")

    # then it opens with the example and the template
    expect(page.locator(".graphiql-container")).to_be_visible(timeout=20_000)
    expect(page.locator(".graphiql-query-editor")).to_contain_text(
        "evaluateEmailLogging(email:", timeout=20_000
    )
    expect(page.locator(".graphiql-editor-tool")).to_contain_text(
        '"Authorization": "Bearer nl_PASTE_YOUR_TOKEN_H'
    )
    browser.shoot("20-graphiql")
    browser.check_accessibility("graphiql", upstream=GRAPHIQL_OWN)

    # and runs it against this service (without a token pasted: the API asks for one)
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    expect(page.locator(".graphiql-response")).to_contain_text("UNAUTHENTICATED", timeout=10_000)
    browser.shoot("21-graphiql-answer")
    browser.check_accessibility("graphiql answer", upstream=GRAPHIQL_OWN)

    # The explorer lists the schema's fields, with its argument fields labelled.
    page.get_by_role("button", name="Show GraphiQL Explorer").click()
    explorer = page.locator(".graphiql-explorer-root")
    expect(explorer).to_contain_text("evaluateEmailLogging")
    browser.shoot("22-graphiql-explorer")
    browser.check_accessibility("graphiql explorer", upstream=GRAPHIQL_OWN)

    # The docs, with the schema's types.
    page.get_by_role("button", name="Show Documentation Explorer").click()
    expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Query")
    browser.check_accessibility("graphiql docs", upstream=GRAPHIQL_OWN)
