"""GraphiQL in Debian's Chromium with the network to every other host cut: it loads from this
service alone, opens with the example decision and the Authorization template, and runs it."""

from __future__ import annotations

from tests.browser.conftest import Browser, sync_api


def test_graphiql_works_offline_with_the_example_and_the_header_template(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page

    # when
    page.goto(browser.server.url + "/graphql")

    # then it opens with the example and the template
    expect(page.locator(".graphiql-container")).to_be_visible(timeout=20_000)
    expect(page.locator(".graphiql-query-editor")).to_contain_text("evaluateEmailLogging(email:")
    expect(page.locator(".graphiql-editor-tool")).to_contain_text(
        '"Authorization": "Bearer nl_PASTE_YOUR_TOKEN_HERE"'
    )
    browser.shoot("20-graphiql")

    # and runs it against this service (without a token pasted: the API asks for one)
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    expect(page.locator(".result-window")).to_contain_text("UNAUTHENTICATED", timeout=10_000)
    browser.shoot("21-graphiql-answer")
