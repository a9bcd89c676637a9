"""GraphiQL in Debian's Chromium with the network to every other host cut: it loads from this
service alone, opens with the example decision and the Authorization template, runs it, shows
the explorer and the docs, and passes axe-core but for its tabs' own markup."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Browser, graphql, sync_api

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


def paste_into(page: Any, editor: str, text: str) -> None:
    """The editor's text replaced by ``text``, pasted as a person would (typing it would
    meet the editor's closing of brackets and quotes)."""
    page.locator(f"{editor} .view-lines").click()
    page.keyboard.press("ControlOrMeta+A")
    page.locator(f"{editor} textarea").evaluate(
        "(area, text) => { const data = new DataTransfer(); data.setData('text/plain', text);"
        " area.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,"
        " cancelable: true})); }",
        text,
    )
    expect = sync_api.expect
    expect(page.locator(editor)).to_contain_text(text[:20].replace(" ", "\u00a0"))


def test_a_subscription_in_graphiql_is_told_of_a_change(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    token = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]

    # given GraphiQL with the token in its Headers tab and a subscription in its editor
    page.goto(browser.server.url + "/graphql")
    expect(page.locator(".graphiql-query-editor")).to_contain_text(
        "evaluateEmailLogging(email:", timeout=20_000
    )
    paste_into(
        page,
        '.monaco-editor[data-uri$="request-headers.json"]',
        f'{{"Authorization": "Bearer {token}"}}',
    )
    paste_into(
        page,
        ".graphiql-query-editor .monaco-editor",
        "subscription Changes { neverLogListChanged(scope: ACCOUNT) "
        "{ kind patterns entryCount actor { email } } }",
    )

    # (GraphiQL has read the new operation: its tab is named after it)
    expect(page.get_by_role("tab", name="Changes")).to_be_visible()

    # when it runs (over graphql-ws, on /graphql) and a change is made elsewhere
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    response = page.locator(".graphiql-response")
    # The subscription starts a moment after the socket opens: an entry is added (only
    # added: GraphiQL shows the last event) until one is told, for 20 tries at most.
    for attempt in range(20):
        graphql(
            browser.server,
            token,
            "mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) "
            "{ userErrors { message } } }",
            {"input": {"scope": "ACCOUNT", "patterns": [f"*@firm{attempt}.com"]}},
        )
        try:
            expect(response).to_contain_text("ENTRIES_ADDED", timeout=500)
            break
        except AssertionError:
            continue

    # then the response shows the change, as it happened
    expect(response).to_contain_text("ENTRIES_ADDED")
    expect(response).to_contain_text("admin@acme-corp.com")
    browser.shoot("23-graphiql-subscription")
