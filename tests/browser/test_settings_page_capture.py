"""The settings page's parts of issue 25, in Debian's headless Chromium against a real
``neverlog serve``: an entry's action (when adding, in the list, as a filter), changing an
entry in place, Undo that leaves an entry as it was, the capture settings of the account and
of a user, trying a received email, and import errors with their line; axe-core's check at
each step. Screenshots go to test-artifacts/settings-page/."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.browser.conftest import Browser, add_user, fill_list, graphql, sync_api
from tests.live_server import LiveServer

ENTRIES = "{ neverLogList(scope: %s) { count entries(first: 100) { edges { node { id pattern createdAt note expiresAt action } } } } }"


def entries(server: LiveServer, token: str, scope: str) -> dict[str, dict[str, Any]]:
    """The list's entries by pattern, as the API has them."""
    data = graphql(server, token, ENTRIES % scope)["neverLogList"]["entries"]["edges"]
    return {edge["node"]["pattern"]: edge["node"] for edge in data}


def add(server: LiveServer, token: str, scope: str, patterns: list[str], **fields: Any) -> None:
    payload = graphql(
        server,
        token,
        "mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) "
        "{ added { id } userErrors { message } } }",
        {"input": {"scope": scope, "patterns": patterns, **fields}},
    )["addNeverLogEntries"]
    assert payload["userErrors"] == [], payload


def wait_for(check: Any, what: str, seconds: float = 10.0) -> None:
    """Poll ``check`` until it holds, failing with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def test_an_entry_is_added_with_its_action_filtered_by_it_and_changed_in_place(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(server, admin, "ACCOUNT", [f"person{i:02d}@example.com" for i in range(30)])
    browser.sign_in(admin)
    section = page.locator("#account")

    # given an entry added with its action, by keyboard
    page.get_by_role("button", name="Add to the account-wide list…").click()
    page.get_by_label("Addresses or domains").fill("*@lawfirm.com")
    page.get_by_label("What they do").select_option("LOG_METADATA_ONLY")
    page.get_by_label("Note (optional)").fill("Privileged")
    browser.check_accessibility("add dialog with an action")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(section.locator(".feedback")).to_have_text(
        "Added *@lawfirm.com to the account-wide list."
    )
    before = entries(server, admin, "ACCOUNT")["*@lawfirm.com"]
    assert before["action"] == "LOG_METADATA_ONLY"

    # then the list shows what each entry does, and filters by it (31 entries, 1 limited)
    lawfirm = section.locator('tr[data-pattern="*@lawfirm.com"]')
    expect(lawfirm.locator("td.action")).to_have_text("Metadata only")
    expect(section.locator('tr[data-pattern="person00@example.com"] td.action')).to_have_text(
        "Never logged"
    )
    page.get_by_label("Show in the account-wide list").select_option("LOG_METADATA_ONLY")
    expect(section.locator("tbody td.pattern")).to_have_text(["*@lawfirm.com"])
    expect(section.locator(".range")).to_have_text("Entries 1–1 of 1 (metadata only)")
    page.get_by_label("Show in the account-wide list").select_option("LOG_SUBJECT_ONLY")
    expect(section.locator(".range")).to_have_text("No entry is subject only.")
    expect(section.locator("tbody tr")).to_have_count(0)
    page.get_by_label("Show in the account-wide list").select_option("NEVER_LOG")
    expect(section.locator(".range")).to_have_text("Entries 1–25 of 30 (never logged)")
    page.get_by_label("Show in the account-wide list").select_option("")
    expect(section.locator(".range")).to_have_text("Entries 1–25 of 31")
    browser.shoot("30-entry-actions")
    browser.check_accessibility("entries with their actions")

    # when the entry is changed in place: its action, note and expiry
    page.get_by_role("button", name="Edit *@lawfirm.com on the account-wide list…").click()
    expect(page.get_by_label("What it does")).to_be_focused()
    expect(page.get_by_label("What it does")).to_have_value("LOG_METADATA_ONLY")
    expect(page.get_by_label("Note", exact=True)).to_have_value("Privileged")
    page.get_by_label("What it does").select_option("LOG_SUBJECT_ONLY")
    page.get_by_label("Note", exact=True).fill("Privileged: subject is fine")
    expires = date.today() + timedelta(days=10)
    page.get_by_label("Stops applying on", exact=True).fill(expires.isoformat())
    browser.shoot("31-edit-dialog")
    browser.check_accessibility("edit dialog")
    page.get_by_role("button", name="Save", exact=True).click()

    # then the same entry (its ID and added date) has changed, and the focus is back on Edit
    expect(page.locator("#edit-dialog")).to_be_hidden()
    expect(section.locator(".feedback")).to_contain_text(
        "Changed *@lawfirm.com: now subject only, note “Privileged: subject is fine”"
    )
    after = entries(server, admin, "ACCOUNT")["*@lawfirm.com"]
    assert (after["id"], after["createdAt"]) == (before["id"], before["createdAt"])
    assert (after["action"], after["note"]) == ("LOG_SUBJECT_ONLY", "Privileged: subject is fine")
    assert after["expiresAt"] is not None
    expect(lawfirm.locator("td.action")).to_have_text("Subject only")
    expect(lawfirm.locator("td.note")).to_have_text("Privileged: subject is fine")
    expect(
        page.get_by_role("button", name="Edit *@lawfirm.com on the account-wide list…")
    ).to_be_focused()
    expect(page.locator("#audit-table tbody tr").first).to_have_attribute(
        "data-action", "NEVER_LOG_ENTRIES_UPDATED"
    )

    # and clearing the note and the expiry (sorted by date: a row read from the CSV)
    page.get_by_label("Sort the account-wide list by").select_option("DATE")
    page.get_by_role("button", name="Edit *@lawfirm.com on the account-wide list…").click()
    page.get_by_label("Note", exact=True).fill("")
    page.get_by_label("Stops applying on", exact=True).fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(section.locator(".feedback")).to_have_text(
        "Changed *@lawfirm.com: no note, applies for ever."
    )
    cleared = entries(server, admin, "ACCOUNT")["*@lawfirm.com"]
    assert (cleared["note"], cleared["expiresAt"], cleared["action"]) == (
        None,
        None,
        "LOG_SUBJECT_ONLY",
    )

    # a refusal stays in the dialog with what was typed, and nothing changes
    page.get_by_role("button", name="Edit *@lawfirm.com on the account-wide list…").click()
    page.get_by_label("Note", exact=True).fill("bad\u2028note")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#edit-errors li").first).to_be_visible()
    expect(page.get_by_label("Note", exact=True)).to_have_attribute("aria-invalid", "true")
    browser.check_accessibility("edit refused")
    page.keyboard.press("Escape")
    expect(page.locator("#edit-dialog")).to_be_hidden()
    assert entries(server, admin, "ACCOUNT")["*@lawfirm.com"]["note"] is None


def test_undo_leaves_the_entry_as_it_was_and_a_removal_is_sent_when_the_window_closes(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    expires = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    add(
        server,
        admin,
        "PERSONAL",
        ["sister@family-mail.com"],
        note="Family",
        expiresAt=expires.isoformat(),
        action="LOG_SUBJECT_ONLY",
    )
    add(server, admin, "PERSONAL", ["old@friend.org", "zed@friend.org"])
    before = entries(server, admin, "PERSONAL")
    # The page's timers run on a clock that the test moves.
    browser.install_clock()
    browser.sign_in(admin)
    section = page.locator("#personal")

    # when an entry is removed, and Undo is pressed within the window
    page.get_by_role("button", name="Remove sister@family-mail.com from your personal list").focus()
    page.keyboard.press("Enter")
    expect(section.locator(".feedback")).to_contain_text(
        "Removed sister@family-mail.com from your personal list."
    )
    expect(section.locator(".usage")).to_have_text("2 of 500 entries · 498 more allowed")
    expect(section.locator("tbody td.pattern")).to_have_text(["old@friend.org", "zed@friend.org"])
    expect(
        page.get_by_role("button", name="Remove zed@friend.org from your personal list")
    ).to_be_focused()
    browser.shoot("35-removal-waiting-for-undo")
    browser.check_accessibility("removal waiting for undo")
    page.get_by_role("button", name="Undo the removal of sister@family-mail.com").click()

    # then the entry is as it was: the same ID, added date, note, expiry and action
    expect(section.locator(".feedback")).to_have_text(
        "Put sister@family-mail.com back on your personal list."
    )
    expect(section.locator(".usage")).to_have_text("3 of 500 entries · 497 more allowed")
    assert entries(server, admin, "PERSONAL") == before
    page.clock.run_for(60_000)
    assert entries(server, admin, "PERSONAL") == before

    # when the undo window closes, the removal is sent
    page.get_by_role("button", name="Remove old@friend.org from your personal list").click()
    expect(section.locator(".usage")).to_have_text("2 of 500 entries · 498 more allowed")
    assert "old@friend.org" in entries(server, admin, "PERSONAL")
    page.clock.run_for(11_000)
    expect(section.locator(".feedback")).to_have_text(
        "Removed old@friend.org from your personal list."
    )
    assert "old@friend.org" not in entries(server, admin, "PERSONAL")
    expect(page.locator("#audit-table tbody tr").first).to_have_attribute(
        "data-action", "NEVER_LOG_ENTRIES_REMOVED"
    )

    # while the Undo button has the focus, the window waits
    page.get_by_role("button", name="Remove zed@friend.org from your personal list").click()
    expect(
        page.get_by_role("button", name="Remove sister@family-mail.com from your personal list")
    ).to_be_focused()
    page.get_by_role("button", name="Undo the removal of zed@friend.org").focus()
    page.clock.run_for(30_000)
    assert "zed@friend.org" in entries(server, admin, "PERSONAL")

    # when the page is left with a removal waiting, it is sent as the page goes (the
    # harness's interception of requests is taken off first: a request that outlives its
    # page is not the harness's to hold, and about:blank asks nothing of any host)
    page.context.unroute("**/*")
    page.goto("about:blank")
    wait_for(
        lambda: "zed@friend.org" not in entries(server, admin, "PERSONAL"),
        "the removal sent when the page was left",
        seconds=30,
    )
    assert list(entries(server, admin, "PERSONAL")) == ["sister@family-mail.com"]


def test_capture_settings_of_the_account_and_of_a_user(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    user = add_user(server, admin, "sam@acme-corp.com")
    browser.sign_in(admin)
    capture = page.locator("#capture")

    # A super admin sees the account's settings as they are, and changes them.
    expect(page.get_by_label("Keep of every logged email")).to_have_value("FULL")
    expect(page.get_by_label("Keep automated email out of the CRM")).to_be_checked()
    names = page.get_by_label("Automated sender names")
    expect(names).to_have_value(
        "noreply\ndonotreply\nmailerdaemon\npostmaster\nbounce\nbounces\nnotifications\nnotification\nnewsletter\nalerts"
    )
    browser.shoot("32-capture-settings")
    browser.check_accessibility("capture settings, super admin")
    # A name that is not a local part is refused, naming it; nothing is saved.
    names.fill("noreply\nno reply")
    page.get_by_role("button", name="Save the account's settings").click()
    expect(capture.locator("#account-capture-feedback")).to_contain_text("no reply")
    expect(names).to_have_attribute("aria-invalid", "true")
    expect(names).to_be_focused()
    browser.check_accessibility("capture settings refused")
    names.fill("noreply\nbilling")
    page.get_by_label("Keep of every logged email").select_option("SUBJECT")
    page.get_by_label("Keep automated email out of the CRM").uncheck()
    page.get_by_role("button", name="Save the account's settings").click()
    expect(capture.locator("#account-capture-feedback")).to_have_text(
        "Saved the account's settings: logged email is kept without the body "
        "(sender, recipients, date and subject); automated email is logged."
    )
    account = graphql(
        server,
        admin,
        "{ viewer { account { defaultCapture skipAutomatedEmails automatedSenderNames } } }",
    )["viewer"]["account"]
    assert account == {
        "defaultCapture": "SUBJECT",
        "skipAutomatedEmails": False,
        "automatedSenderNames": ["noreply", "billing"],
    }
    expect(page.locator("#audit-table tbody tr").first).to_have_attribute(
        "data-action", "ACCOUNT_SETTINGS_CHANGED"
    )

    # A user reads the account's settings and sets their own.
    page.get_by_role("button", name="Sign out").click()
    browser.sign_in(user)
    expect(page.locator("#account-capture-form")).to_be_hidden()
    expect(capture.locator("#account-capture-read")).to_contain_text(
        "The account keeps logged email without the body"
    )
    mine = page.get_by_label("Keep of the emails you send and receive")
    expect(mine).to_have_value("")
    mine.select_option("METADATA")
    page.get_by_role("button", name="Save your setting").click()
    expect(capture.locator("#my-capture-feedback")).to_have_text(
        "Saved: your emails are logged without subject or body (sender, recipients and date) at most."
    )
    browser.check_accessibility("capture settings, user")
    me = graphql(server, user, "{ viewer { user { defaultCapture } } }")["viewer"]["user"]
    assert me == {"defaultCapture": "METADATA"}
    page.reload()
    expect(mine).to_have_value("METADATA")
    mine.select_option("")
    page.get_by_role("button", name="Save your setting").click()
    expect(capture.locator("#my-capture-feedback")).to_have_text(
        "Saved: your emails are logged as the account keeps them."
    )
    me = graphql(server, user, "{ viewer { user { defaultCapture } } }")["viewer"]["user"]
    assert me == {"defaultCapture": None}


def test_trying_a_received_email_shows_automated_mail_and_each_recipients_capture(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    add(server, admin, "ACCOUNT", ["*@lawfirm.com"], action="LOG_METADATA_ONLY")
    browser.sign_in(admin)
    rows = page.locator("#decision-table tbody tr")

    # An email sent to a limited recipient and another: what is kept of each.
    page.get_by_label("To", exact=True).fill("jane@lawfirm.com, bob@customer.com")
    page.get_by_role("button", name="Decide").click()
    jane = page.locator('#decision-table tr[data-address="jane@lawfirm.com"]')
    expect(jane).to_have_attribute("data-capture", "METADATA")
    expect(jane).to_have_attribute("data-matched-action", "LOG_METADATA_ONLY")
    expect(jane.locator("td.capture")).to_have_text("Metadata only (an entry: metadata only)")
    expect(
        page.locator('#decision-table tr[data-address="bob@customer.com"] td.capture')
    ).to_have_text("Full")
    expect(page.locator("#decision-more")).to_have_text(
        "A CRM that keeps one copy of the email keeps it without subject or body "
        "(sender, recipients and date); 1 logged recipient is limited to less than full."
    )
    browser.shoot("33-try-capture")
    browser.check_accessibility("decision with capture")

    # A received email: from, then a header line that is not "Name: value" is refused here.
    page.get_by_label("Received: it came to you").check()
    page.get_by_label("From", exact=True).fill("News <news@shop.example>")
    page.get_by_label("To", exact=True).fill("admin@acme-corp.com")
    headers = page.get_by_label("Headers")
    headers.fill("List-Id: <deals.shop.example>\nnot a header")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator("#headers-error")).to_have_text(
        "Line 2 (“not a header”) is not Name: value."
    )
    expect(headers).to_have_attribute("aria-invalid", "true")
    expect(headers).to_be_focused()
    headers.fill("List-Id: <deals.shop.example>\nList-Unsubscribe:\n <mailto:out@shop.example>")
    page.get_by_role("button", name="Decide").click()
    sender = page.locator('#decision-table tr[data-address="news@shop.example"]')
    expect(sender).to_have_attribute("data-outcome", "AUTOMATED")
    expect(sender.locator("td").nth(1)).to_have_text("From")
    expect(sender.locator(".badge")).to_have_text("Automated")
    expect(sender.locator("td.capture")).to_have_text("Nothing")
    expect(page.locator("#decision-more")).to_have_attribute("data-automated", "true")
    expect(page.locator("#decision-more")).to_contain_text("An automated email (List-Id")
    expect(rows).to_have_count(2)
    browser.shoot("34-try-received")
    browser.check_accessibility("received email, automated")

    # Without headers, from a person: logged, as sent mail would be.
    headers.fill("")
    page.get_by_label("From", exact=True).fill("carol@customer.com")
    page.get_by_role("button", name="Decide").click()
    carol = page.locator('#decision-table tr[data-address="carol@customer.com"]')
    expect(carol).to_have_attribute("data-outcome", "LOGGED")
    expect(page.locator("#decision-more")).to_have_attribute("data-automated", "false")


def test_import_errors_name_the_line_of_the_file(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    browser.sign_in(admin)

    page.get_by_role("button", name="Import CSV into your personal list…").click()
    page.get_by_label("Or paste the CSV").fill(
        "name,Email Address\nJane Doe,jane@x.com\nBob,na*me@x.com\n,\nCarol,carol@y.com\n"
    )
    page.get_by_role("button", name="Preview").click()
    error = page.locator("#import-errors li")
    expect(error).to_have_count(1)
    expect(error.first).to_have_attribute("data-line", "3")
    expect(error.first).to_contain_text("Line 3: ")
    expect(error.first).to_contain_text("na*me@x.com")
    expect(page.locator("#import-confirm")).to_be_disabled()
    browser.check_accessibility("import error with its line")

    # A CRM's contact export: the column named for addresses is read, the others ignored.
    page.get_by_label("Or paste the CSV").fill(
        "name,Email Address\nJane Doe,jane@x.com\nBob,bob@x.com\n"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("nothing is saved until you confirm")
    expect(page.locator("#import-preview [data-count]")).to_have_text(["2", "0", "0", "0"])
    page.locator("#import-confirm").click()
    expect(page.locator("#personal tbody td.pattern")).to_have_text(["bob@x.com", "jane@x.com"])
