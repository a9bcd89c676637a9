"""The settings page is live: two pages open on one account, in Debian's Chromium against a
real ``neverlog serve``; a change made in one (or through the API) shows in the other within a
second, over the page's graphql-transport-ws subscription, without touching what its user was
doing there, and is announced politely."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import Browser, add_user, fill_list, graphql, sync_api


def test_a_change_in_one_page_shows_in_the_other_without_losing_what_is_typed(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    server = browser.server
    admin_token = server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(server, admin_token, "ACCOUNT", ["*@lawfirm.com"])
    sam_token = add_user(server, admin_token, "sam@acme-corp.com")
    fill_list(server, sam_token, "PERSONAL", ["sister@family-mail.com", "zed@family-mail.com"])

    # given the super admin's page, and Sam's in another tab
    admin = browser.page
    browser.sign_in(admin_token)
    sams_tab = browser.another_tab()
    sam = sams_tab.page
    sams_tab.sign_in(sam_token)
    for page in (admin, sam):
        expect(page.locator("body")).to_have_attribute("data-live", "connected")
    # Sam is typing into the add dialog of their own list.
    sam.get_by_role("button", name="Add to your personal list…").click()
    sam.get_by_label("Addresses or domains").fill("half-typed@exam")
    expect(sam.get_by_label("Addresses or domains")).to_be_focused()

    # when the super admin adds to the account-wide list on their page
    admin.get_by_role("button", name="Add to the account-wide list…").click()
    admin.get_by_label("Addresses or domains").fill("*@newfirm.com")
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.locator("#add-dialog")).to_be_hidden()

    # then Sam's page shows it within a second, and says so, politely
    account = sam.locator("#account")
    expect(account.locator('tbody tr[data-pattern="*@newfirm.com"]')).to_have_count(
        1, timeout=1_000
    )
    expect(account.locator(".usage")).to_contain_text("2 of ")
    expect(sam.locator("#live-status")).to_have_text(
        "admin@acme-corp.com added *@newfirm.com to the account-wide list."
    )
    expect(sam.locator("#live-status")).to_have_attribute("aria-live", "polite")
    expect(account.locator(".live-note")).to_contain_text("admin@acme-corp.com added *@newfirm.com")
    # and what Sam was doing is as it was: the dialog open, the text and the focus kept.
    expect(sam.locator("#add-dialog")).to_be_visible()
    expect(sam.get_by_label("Addresses or domains")).to_have_value("half-typed@exam")
    expect(sam.get_by_label("Addresses or domains")).to_be_focused()
    sam.get_by_role("button", name="Cancel").click()

    # Sam's own list, changed elsewhere (through the API, as from another device) while Sam's
    # focus is on one of its rows: the row goes, the focus stays on the same entry's button.
    personal = sam.locator("#personal")
    zed = sam.get_by_role("button", name="Remove zed@family-mail.com from your personal list")
    zed.focus()
    graphql(
        server,
        sam_token,
        "mutation($input: RemoveNeverLogEntriesInput!) { removeNeverLogEntries(input: $input) "
        "{ userErrors { message } } }",
        {"input": {"scope": "PERSONAL", "patterns": ["sister@family-mail.com"]}},
    )
    expect(personal.locator("tbody tr")).to_have_count(1, timeout=1_000)
    expect(personal.locator(".usage")).to_contain_text("1 of ")
    expect(zed).to_be_focused()
    expect(sam.locator("#live-status")).to_have_text(
        "You (elsewhere) removed sister@family-mail.com from your personal list."
    )
    # The super admin's page is not told of Sam's personal list (it is Sam's alone).
    expect(admin.locator("#live-status")).to_have_text("")
    sams_tab.shoot("30-live-change-shown")
    sams_tab.check_accessibility("live change shown")


def test_a_dropped_connection_comes_back_and_reads_what_it_missed(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    token = server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(server, token, "ACCOUNT", ["*@lawfirm.com"])
    # The page's WebSocket passes through the test, which can cut it as a restarting
    # server would (1012).
    sockets: list[tuple[Any, Any]] = []

    def through_the_test(socket: Any) -> None:
        sockets.append((socket, socket.connect_to_server()))

    page.route_web_socket(re.compile(r"/graphql$"), through_the_test)
    browser.sign_in(token)
    body = page.locator("body")
    expect(body).to_have_attribute("data-live", "connected")
    assert len(sockets) == 1

    # when the connection drops, and the list changes meanwhile
    to_page, to_server = sockets[0]
    to_server.close(code=1000)
    to_page.close(code=1012, reason="Service restart")
    expect(body).to_have_attribute("data-live", "reconnecting")
    fill_list(server, token, "ACCOUNT", ["*@lawfirm.com", "*@missed.com"])

    # then the page connects again (after about a second) and reads the list again
    expect(body).to_have_attribute("data-live", "connected", timeout=5_000)
    assert len(sockets) == 2
    account = page.locator("#account")
    expect(account.locator('tbody tr[data-pattern="*@missed.com"]')).to_have_count(1)
    # and is told of the next change as before
    fill_list(server, token, "ACCOUNT", ["*@lawfirm.com", "*@missed.com", "*@next.com"])
    expect(account.locator('tbody tr[data-pattern="*@next.com"]')).to_have_count(1, timeout=1_000)
