"""The settings page at /, in Debian's headless Chromium, against a real ``neverlog serve``
with 500-entry lists, with the network to every other host cut: each journey of a USER and of
a SUPER_ADMIN, by mouse and by keyboard, with axe-core's check (no serious or critical
violation) at each step. Screenshots and the accessibility report go to
test-artifacts/settings-page/."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import Browser, add_user, fill_list, graphql, sync_api
from tests.helpers import Api

FIVE_HUNDRED = [f"person{i:03d}@example{i % 7}.com" for i in range(500)]


async def test_the_page_and_its_files_are_served(api: Api) -> None:
    # when
    page = await api.client.get("/")
    script = await api.client.get("/static/app.js")
    style = await api.client.get("/static/style.css")
    icon = await api.client.get("/static/favicon.svg")
    outside = await api.client.get("/static/../settings.py")

    # then
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/app.js" defer></script>' in page.text
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text
    assert style.status_code == 200
    assert icon.status_code == 200
    assert outside.status_code == 404


def usage(browser: Browser, section: str) -> str:
    text: str = browser.page.locator(f"#{section} .usage").inner_text()
    return text


def listed(browser: Browser, section: str) -> list[str]:
    texts: list[str] = browser.page.locator(f"#{section} tbody td.pattern").all_inner_texts()
    return texts


def test_signing_in_keeps_a_mistyped_token_and_understands_bearer(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    account = browser.server.create_account("Acme", "admin@acme-corp.com")

    # Signed out: only the token form.
    page.goto(browser.server.url + "/")
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.locator("#personal")).to_have_count(0)
    browser.shoot("01-signed-out")
    browser.check_accessibility("signed out")

    # A wrong token is refused where it was typed, and stays there to be fixed.
    browser.expected.append("the server responded with a status of 401")
    typo = account["token"][:-1] + ("0" if account["token"][-1] != "0" else "1")
    page.get_by_label("API token").fill(typo)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#token-error")).to_contain_text("This token is not accepted")
    expect(page.get_by_label("API token")).to_have_value(typo)
    expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("API token")).to_be_focused()
    browser.shoot("02-token-refused")
    browser.check_accessibility("token refused")

    # Pasted as a header value ("Bearer nl_…"): understood.
    page.get_by_label("API token").fill(f"Bearer {account['token']}")
    page.keyboard.press("Enter")
    expect(page.locator("#who-text")).to_have_text(
        "Signed in as admin@acme-corp.com (super admin) of Acme."
    )
    assert page.evaluate("sessionStorage.getItem('neverlog.token')") == account["token"]
    assert page.evaluate("localStorage.length") == 0
    expect(page.locator("#personal .usage")).to_have_text("0 of 500 entries · 500 more allowed")

    # The token lasts as long as the tab; signing out forgets it.
    page.reload()
    expect(page.locator("#personal .usage")).to_have_text("0 of 500 entries · 500 more allowed")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('neverlog.token')") is None


def test_a_super_admin_keeps_a_full_account_list(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(browser.server, admin, "ACCOUNT", FIVE_HUNDRED)
    browser.sign_in(admin)

    # 500 of 500: one page of 25 rows, never the whole list; "Add…" disabled with the reason.
    section = page.locator("#account")
    expect(section.locator(".usage")).to_have_text("500 of 500 entries · 0 more allowed")
    expect(section.locator("tbody tr")).to_have_count(25)
    expect(section.locator(".range")).to_have_text("Entries 1–25 of 500")
    add = page.get_by_role("button", name="Add to the account-wide list…")
    expect(add).to_be_disabled()
    expect(section.locator(".limit-reason")).to_have_text(
        "The account-wide list is full (500 of 500 entries): remove entries to add others."
    )
    # Every control has a name of its own.
    expect(page.get_by_role("button", name="Add to your personal list…")).to_be_enabled()
    expect(page.get_by_role("button", name="Next page of the account-wide list")).to_have_count(1)
    browser.shoot("03-admin-full-account-list")
    browser.check_accessibility("super admin, 500 entries")
    # Borders of controls and the focus ring: 3:1 at least (WCAG 1.4.11), along 60 Tab stops.
    assert browser.control_contrast() == []
    page.locator("#main").focus()
    assert browser.focus_rings_while_tabbing(60) == []

    # Paging with the keyboard: the focus stays on the button pressed.
    page.get_by_role("button", name="Next page of the account-wide list").focus()
    page.keyboard.press("Enter")
    expect(section.locator(".range")).to_have_text("Entries 26–50 of 500")
    assert listed(browser, "account")[0] == "person025@example4.com"
    expect(page.get_by_role("button", name="Next page of the account-wide list")).to_be_focused()
    page.get_by_role("button", name="Previous page of the account-wide list").click()
    expect(section.locator(".range")).to_have_text("Entries 1–25 of 500")

    # Search goes to the API: 11 of 500 patterns hold "person04".
    page.get_by_label("Search the account-wide list").fill("person04")
    expect(section.locator(".range")).to_have_text("Entries 1–10 of 10 matching “person04”")
    assert listed(browser, "account")[0] == "person040@example5.com"
    browser.shoot("04-admin-search")
    page.get_by_label("Search the account-wide list").fill("")
    expect(section.locator(".range")).to_have_text("Entries 1–25 of 500")

    # A removal from the account-wide list is confirmed first; Keep (or Escape) keeps it.
    page.get_by_role(
        "button", name="Remove person003@example3.com from the account-wide list"
    ).click()
    confirm = page.get_by_role("button", name="Remove for everyone (person003@example3.com)")
    expect(confirm).to_be_focused()
    browser.shoot("05-admin-confirm-removal")
    browser.check_accessibility("confirm removal")
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(
        page.get_by_role("button", name="Remove person003@example3.com from the account-wide list")
    ).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Remove for everyone (person003@example3.com)").click()
    expect(section.locator(".feedback")).to_have_text(
        "Removed person003@example3.com from the account-wide list."
    )
    expect(section.locator(".usage")).to_have_text("499 of 500 entries · 1 more allowed")
    assert "person003@example3.com" not in listed(browser, "account")
    # The focus is where the removed row was: on the row that took its place.
    expect(
        page.get_by_role("button", name="Remove person004@example4.com from the account-wide list")
    ).to_be_focused()
    expect(add).to_be_enabled()
    expect(section.locator(".limit-reason")).to_be_hidden()

    # Add with a note and an expiry; the newest comes first when sorted by date added.
    add.click()
    page.get_by_label("Addresses or domains").fill("*@*.hospital.org")
    page.get_by_label("Note (optional)").fill("Patients' privacy")
    expires = date.today() + timedelta(days=30)
    page.get_by_label("Stops applying on (optional)").fill(expires.isoformat())
    browser.shoot("06-admin-add-dialog")
    browser.check_accessibility("add dialog")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-dialog")).to_be_hidden()
    expect(section.locator(".feedback")).to_have_text(
        "Added *@*.hospital.org to the account-wide list."
    )
    expect(section.locator(".usage")).to_have_text("500 of 500 entries · 0 more allowed")
    expect(add).to_be_disabled()
    page.get_by_label("Sort the account-wide list by").select_option("DATE")
    first = section.locator("tbody tr").first
    expect(first.locator("td.pattern")).to_have_text("*@*.hospital.org")
    expect(first.locator("td.note")).to_have_text("Patients' privacy")
    expect(first.locator("td.expires")).to_have_text(
        re.compile(rf"{expires.day} {expires.strftime('%b')} {expires.year}")
    )
    expect(section.locator("tbody tr")).to_have_count(25)
    browser.shoot("07-admin-sorted-by-date")

    # The audit log, newest first, as it is after the change.
    audit = page.locator("#audit-table tbody tr")
    expect(audit.first).to_contain_text("*@*.hospital.org")
    expect(audit.nth(1)).to_contain_text("person003@example3.com")
    browser.shoot("08-admin-audit-log")


def test_a_person_keeps_their_personal_list_by_keyboard_with_undo(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    browser.sign_in(admin)
    section = page.locator("#personal")

    # Add by keyboard only: the button, the patterns, what they do (left as it is), the note, Enter.
    page.get_by_role("button", name="Add to your personal list…").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Addresses or domains")).to_be_focused()
    page.keyboard.type("sister@family-mail.com; old@friend.org")
    page.keyboard.press("Tab")
    expect(page.get_by_label("What they do")).to_be_focused()
    expect(page.get_by_label("What they do")).to_have_value("NEVER_LOG")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Note (optional)")).to_be_focused()
    page.keyboard.type("Family")
    page.keyboard.press("Enter")
    expect(section.locator(".usage")).to_have_text("2 of 500 entries · 498 more allowed")
    expect(page.get_by_role("button", name="Add to your personal list…")).to_be_focused()
    expect(section.locator("tbody td.pattern")).to_have_text(
        ["old@friend.org", "sister@family-mail.com"]
    )
    expect(section.locator("tbody tr").first.locator("td.note")).to_have_text("Family")

    # A refusal stands beside what was typed, and nothing is added.
    page.get_by_role("button", name="Add to your personal list…").click()
    typed = "new@friend.org, na*me@x.com, <b>bold</b>@x.com"
    page.get_by_label("Addresses or domains").fill(typed)
    page.get_by_role("button", name="Add", exact=True).click()
    errors = page.locator("#patterns-errors li")
    expect(errors.first).to_contain_text('"na*me@x.com" is not a valid never-log pattern')
    textarea = page.get_by_label("Addresses or domains")
    expect(textarea).to_have_value(typed)
    expect(textarea).to_have_attribute("aria-invalid", "true")
    assert page.locator("#patterns-errors b").count() == 0
    browser.shoot("09-personal-refused")
    browser.check_accessibility("refusal in the add dialog")
    page.keyboard.press("Escape")
    expect(page.locator("#add-dialog")).to_be_hidden()
    expect(section.locator(".usage")).to_have_text("2 of 500 entries · 498 more allowed")

    # Remove from the personal list at once, with Undo beside the list; the focus stays.
    page.get_by_role("button", name="Remove old@friend.org from your personal list").focus()
    page.keyboard.press("Enter")
    expect(section.locator(".feedback")).to_contain_text(
        "Removed old@friend.org from your personal list."
    )
    expect(section.locator(".usage")).to_have_text("1 of 500 entries · 499 more allowed")
    expect(
        page.get_by_role("button", name="Remove sister@family-mail.com from your personal list")
    ).to_be_focused()
    browser.shoot("10-personal-removed-with-undo")
    browser.check_accessibility("removed, with undo")
    page.get_by_role("button", name="Undo the removal of old@friend.org").focus()
    page.keyboard.press("Enter")
    expect(section.locator(".feedback")).to_have_text(
        "Put old@friend.org back on your personal list."
    )
    expect(section.locator(".usage")).to_have_text("2 of 500 entries · 498 more allowed")
    # Put back as it was: with its note.
    expect(section.locator("tbody tr").first.locator("td.note")).to_have_text("Family")


def test_a_list_goes_out_as_csv_and_comes_back_through_a_preview(
    browser: Browser, tmp_path: Path
) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(browser.server, admin, "PERSONAL", FIVE_HUNDRED[:3])
    browser.sign_in(admin)
    section = page.locator("#personal")
    expect(section.locator(".usage")).to_have_text("3 of 500 entries · 497 more allowed")

    # Export: a download of the list's CSV.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV of your personal list").click()
    saved = tmp_path / "personal.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "never-log-personal.csv"
    lines = saved.read_text().splitlines()
    assert lines[0] == "pattern,kind,created_at,created_by,note,expires_at,action"
    assert [line.split(",")[0] for line in lines[1:]] == FIVE_HUNDRED[:3]

    # Import REPLACE: the preview counts what would change, and nothing changes until confirmed.
    page.get_by_role("button", name="Import CSV into your personal list…").click()
    replacement = "pattern\nperson000@example0.com\nnew@partner.com\n*@lawfirm.com\n"
    page.get_by_label("Or paste the CSV").fill(replacement)
    page.get_by_label("Replace: the list becomes exactly these entries").check()
    confirm = page.locator("#import-confirm")
    expect(confirm).to_be_disabled()
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("nothing is saved until you confirm")
    assert preview.locator("[data-count]").all_inner_texts() == ["2", "2", "1", "0"]
    expect(confirm).to_have_text("Import: replace the list")
    expect(confirm).to_be_enabled()
    browser.shoot("11-import-preview")
    browser.check_accessibility("import preview")
    graphql_count = graphql(browser.server, admin, "{ neverLogList(scope: PERSONAL) { count } }")[
        "neverLogList"
    ]["count"]
    assert graphql_count == 3
    # A change after the preview asks for a new one.
    page.get_by_label("Merge: add these entries and keep the others").check()
    expect(confirm).to_be_disabled()
    page.get_by_label("Replace: the list becomes exactly these entries").check()
    page.get_by_role("button", name="Preview").click()
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page.locator("#import-dialog")).to_be_hidden()
    expect(section.locator(".feedback")).to_have_text(
        "Imported into your personal list: 2 added, 2 removed, 1 already listed."
    )
    expect(section.locator(".usage")).to_have_text("3 of 500 entries · 497 more allowed")
    expect(section.locator("tbody td.pattern")).to_have_text(
        ["*@lawfirm.com", "new@partner.com", "person000@example0.com"]
    )

    # A file with a bad line: the preview says so and the import cannot be confirmed.
    page.get_by_role("button", name="Import CSV into your personal list…").click()
    bad = tmp_path / "bad.csv"
    bad.write_text("pattern\nok@fine.com\nna*me@x.com\n")
    page.get_by_label("CSV file", exact=True).set_input_files(str(bad))
    # With pasted text too, neither is taken: the dialog says so and sends nothing.
    page.get_by_label("Or paste the CSV").fill("pattern\nother@fine.com\n")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_have_text(
        "Choose a CSV file or paste the CSV, not both: clear the pasted text, or the file, first."
    )
    expect(page.get_by_label("Or paste the CSV")).to_be_focused()
    expect(page.get_by_label("Or paste the CSV")).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_be_disabled()
    page.get_by_label("Or paste the CSV").fill("")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_contain_text("cannot be imported as it is")
    expect(page.locator("#import-errors li").first).to_contain_text("na*me@x.com")
    expect(confirm).to_be_disabled()
    browser.shoot("12-import-refused")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Import CSV into your personal list…")).to_be_focused()


def test_trying_an_email_parses_addresses_as_the_api_does(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(browser.server, admin, "ACCOUNT", ["*@lawfirm.com"])
    fill_list(browser.server, admin, "PERSONAL", ["sister@family-mail.com"])
    browser.sign_in(admin)

    page.get_by_label("Sent through").select_option("SALES_EXTENSION")
    page.get_by_label("To", exact=True).fill(
        '"Smith, John" <john@lawfirm.com>, bob@customer.com; carol@customer.com'
    )
    page.get_by_label("Cc", exact=True).fill("Sister <sister@family-mail.com>")
    page.get_by_label("Bcc", exact=True).fill("not-an-address, also@@bad, sam@acme-corp.com")
    page.get_by_label("Existing contacts").fill("bob@customer.com")
    page.get_by_role("button", name="Decide").click()
    rows = page.locator("#decision-table tbody tr")
    expect(rows).to_have_count(7)
    outcomes = {
        row.get_attribute("data-address"): (
            row.get_attribute("data-outcome"),
            row.locator("td.contact").inner_text(),
        )
        for row in rows.all()
    }
    # The display name with a comma stays one recipient; an existing contact gets no new one.
    assert outcomes == {
        "john@lawfirm.com": ("NEVER_LOG", ""),
        "bob@customer.com": ("LOGGED", ""),
        "carol@customer.com": ("LOGGED", "Created"),
        "sister@family-mail.com": ("NEVER_LOG", ""),
        "not-an-address": ("INVALID_ADDRESS", ""),
        "also@@bad": ("INVALID_ADDRESS", ""),
        "sam@acme-corp.com": ("INTERNAL", ""),
    }
    # Every outcome present is counted, in a fixed order: the colleague and both invalid too.
    expect(page.locator("#decision-summary")).to_have_text(
        "7 recipients: 2 logged, 2 never logged, 1 colleague, 2 invalid. "
        "The never-log lists apply to this channel. The email is sent either way."
    )
    browser.shoot("13-try-an-email")
    browser.check_accessibility("decision")

    # The per-email switches: not logged to the CRM at all.
    page.get_by_label("Log it to the CRM").uncheck()
    page.get_by_role("button", name="Decide").click()
    expect(page.locator('#decision-table tr[data-address="bob@customer.com"]')).to_have_attribute(
        "data-outcome", "LOGGING_OFF"
    )
    expect(page.locator("#decision-summary")).to_contain_text(
        "7 recipients: 2 never logged, 1 colleague, 2 invalid, 2 with logging off."
    )
    assert "LOGGED" not in {row.get_attribute("data-outcome") for row in rows.all()}
    page.get_by_label("Log it to the CRM").check()
    page.get_by_label("Create contacts for new recipients").uncheck()
    page.get_by_role("button", name="Decide").click()
    expect(page.locator('#decision-table tr[data-address="carol@customer.com"]')).to_have_attribute(
        "data-outcome", "NO_CONTACT"
    )

    # A narrow window: still readable, nothing wider than the screen.
    page.set_viewport_size({"width": 380, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    browser.shoot("14-narrow")


def test_on_a_phone_a_page_of_25_entries_folds_into_about_two_screens(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(browser.server, admin, "PERSONAL", ["*@lawfirm.com", *FIVE_HUNDRED[:29]])
    graphql(
        browser.server,
        admin,
        "mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) "
        "{ userErrors { message } } }",
        {"input": {"scope": "PERSONAL", "patterns": ["*@family.org"], "note": "My family"}},
    )
    page.set_viewport_size({"width": 390, "height": 844})
    browser.sign_in(admin)
    section = page.locator("#personal")
    expect(section.locator("tbody tr")).to_have_count(25)

    # Each entry folds into two short lines (three with a note): 25 of them are about two
    # screens (a table of 4,375 px before), the whole card with its controls 2.5 at most.
    height = section.evaluate("s => s.querySelector('table').getBoundingClientRect().height")
    card = section.evaluate("s => s.getBoundingClientRect().height")
    assert height <= 2 * 844, height
    assert card <= 2.5 * 844, card
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = section.locator('tbody tr[data-pattern="*@lawfirm.com"]')
    expect(row.get_by_role("cell", name=re.compile(r"^· Added \d+ \w+ \d{4}$"))).to_have_count(1)
    expect(row.get_by_role("cell", name="· Expires Never")).to_have_count(1)
    expect(
        row.get_by_role("button", name="Remove *@lawfirm.com from your personal list")
    ).to_be_visible()
    expect(section.locator('tbody tr[data-pattern="*@family.org"] td.note')).to_have_text(
        "My family"
    )
    browser.shoot("18-narrow-list")
    browser.check_accessibility("narrow list")


def test_a_super_admin_keeps_internal_domains_and_redelivers_a_webhook(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    endpoint = graphql(
        server,
        admin,
        "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) "
        "{ endpoint { id } userErrors { message } } }",
        {"input": {"url": "http://127.0.0.1:9/hooks", "description": "CRM clean-up"}},
    )["createWebhookEndpoint"]
    assert endpoint["userErrors"] == [], endpoint
    fill_list(server, admin, "ACCOUNT", ["*@lawfirm.com"])
    browser.sign_in(admin)

    # Internal domains: the users' domain, and one added here.
    internal = page.locator("#internal")
    expect(internal.locator('li[data-domain="acme-corp.com"]')).to_contain_text("a user's address")
    page.get_by_label("Domains added by super admins").fill("acme-labs.com")
    page.get_by_role("button", name="Save internal domains").click()
    expect(internal.locator("#internal-feedback")).to_have_text("Saved the internal domains.")
    expect(internal.locator('li[data-domain="acme-labs.com"]')).to_contain_text("added")

    # Webhooks: the endpoint with its recent delivery, sent again on request.
    hooks = page.locator("#webhooks")
    expect(hooks.locator(".endpoint")).to_have_count(1)
    expect(hooks.locator(".endpoint h3")).to_have_text("http://127.0.0.1:9/hooks")
    deliveries = hooks.locator("tbody tr")
    expect(deliveries.first).to_contain_text("NEVER_LOG_ENTRIES_ADDED")
    browser.shoot("15-admin-internal-domains-and-webhooks")
    browser.check_accessibility("internal domains and webhooks")
    redeliver = hooks.get_by_role("button", name=re.compile("^Redeliver NEVER_LOG_ENTRIES_ADDED"))
    expect(deliveries).to_have_count(1)
    first = deliveries.first.get_attribute("data-delivery")
    redeliver.first.click()
    expect(hooks.locator("#webhooks-feedback")).to_contain_text(
        "Sent NEVER_LOG_ENTRIES_ADDED again"
    )
    # The table is read again: the new delivery is in it, its button focused, without a reload.
    expect(hooks.locator("tbody tr", has_text="NEVER_LOG_ENTRIES_ADDED")).to_have_count(2)
    focused = hooks.locator("tbody tr:has(button.redeliver:focus)")
    expect(focused).to_contain_text("NEVER_LOG_ENTRIES_ADDED")
    expect(focused).not_to_have_attribute("data-delivery", first or "")


def test_a_user_reads_the_account_list_and_keeps_a_full_personal_list(browser: Browser) -> None:
    expect = sync_api.expect
    page = browser.page
    server = browser.server
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(server, admin, "ACCOUNT", FIVE_HUNDRED)
    token = add_user(server, admin, "sam@acme-corp.com")
    fill_list(server, token, "PERSONAL", FIVE_HUNDRED)
    browser.sign_in(token)

    expect(page.locator("#who-text")).to_have_text("Signed in as sam@acme-corp.com (user) of Acme.")
    # The account-wide list: read, paged, never changed.
    account = page.locator("#account")
    expect(account.locator(".usage")).to_have_text("500 of 500 entries · 0 more allowed")
    expect(account.locator("tbody tr")).to_have_count(25)
    expect(account.locator(".add-button")).to_be_hidden()
    expect(account.locator(".import-button")).to_be_hidden()
    expect(account.locator("button.remove")).to_have_count(0)
    expect(account.locator(".list-hint")).to_contain_text("Your super admins keep it.")
    expect(account.locator(".limit-reason")).to_be_hidden()
    # No super admin's sections.
    expect(page.locator("#internal")).to_be_hidden()
    expect(page.locator("#webhooks")).to_be_hidden()
    # Their own list, full: Add… is disabled and says why.
    personal = page.locator("#personal")
    expect(personal.locator(".usage")).to_have_text("500 of 500 entries · 0 more allowed")
    expect(page.get_by_role("button", name="Add to your personal list…")).to_be_disabled()
    expect(personal.locator(".limit-reason")).to_have_text(
        "Your personal list is full (500 of 500 entries): remove entries to add others."
    )
    page.get_by_role("button", name="Next page of your personal list").click()
    expect(personal.locator(".range")).to_have_text("Entries 26–50 of 500")
    expect(personal.locator("tbody tr")).to_have_count(25)
    # Their audit log: their own changes.
    expect(page.locator("#audit .audit-hint")).to_have_text("Your own changes, newest first.")
    expect(page.locator("#audit-table tbody tr").first).to_contain_text("sam@acme-corp.com")
    browser.shoot("16-user-view")
    browser.check_accessibility("user, 500 entries")


def test_against_a_server_of_the_first_contract_the_page_leaves_out_what_it_lacks(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    fill_list(browser.server, admin, "PERSONAL", ["old@friend.org"])
    sent: list[str] = []

    # given a server whose schema has none of the next contract's additions (its answer to
    # the page's one question about the schema says so)
    def older_schema(route: Any) -> None:
        body = route.request.post_data or ""
        sent.append(body)
        if "query Features" in body:
            fields = lambda *names: {"fields": [{"name": n} for n in names]}  # noqa: E731
            route.fulfill(
                status=200,
                content_type="application/json",
                body=json.dumps(
                    {
                        "data": {
                            "entry": fields("id", "scope", "kind", "pattern", "createdAt"),
                            "importInput": {"inputFields": [{"name": "csv"}, {"name": "mode"}]},
                            "account": fields("id", "name"),
                            "query": fields("viewer", "neverLogList"),
                        }
                    }
                ),
            )
        else:
            route.continue_()

    page.route("**/graphql", older_schema)

    # when
    browser.sign_in(admin)

    # then the lists are read without the fields it lacks, and what needs them is left out
    expect(page.locator("#personal tbody td.pattern")).to_have_text(["old@friend.org"])
    assert not any("expiresAt" in body or "extended" in body for body in sent)
    expect(page.locator("#internal")).to_be_hidden()
    expect(page.locator("#webhooks")).to_be_hidden()
    page.get_by_role("button", name="Add to your personal list…").click()
    expect(page.get_by_label("Note (optional)")).to_be_hidden()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Import CSV into your personal list…").click()
    expect(page.get_by_role("button", name="Preview")).to_be_hidden()
    expect(page.locator("#import-confirm")).to_be_enabled()


def test_a_super_admin_invites_a_user_who_accepts_the_code_and_alone_sees_the_token(
    browser: Browser,
) -> None:
    expect = sync_api.expect
    page = browser.page
    admin = browser.server.create_account("Acme", "admin@acme-corp.com")["token"]
    browser.sign_in(admin)

    # Adding a user shows their code once, with how to hand it over.
    users = page.locator("#users")
    expect(users.locator('tr[data-user="admin@acme-corp.com"]')).to_contain_text("Yes")
    page.get_by_label("Email", exact=True).fill("sam@acme-corp.com")
    page.get_by_label("Name", exact=True).fill("Sam")
    page.get_by_role("button", name="Add user").click()
    shown = page.locator("#invitation-shown")
    expect(shown).to_be_visible()
    expect(shown).to_be_focused()
    expect(shown).to_contain_text("I have an invitation code")
    first = page.locator("#invitation-shown-code").inner_text()
    assert re.fullmatch(r"nli_[0-9a-f]{40}_[0-9a-f]{32}", first), first
    expect(users.locator('tr[data-user="sam@acme-corp.com"]')).to_contain_text("Not yet")
    browser.shoot("16-user-added-with-code")
    browser.check_accessibility("user added, code shown")

    # A new code ends the first.
    users.get_by_role("button", name="New code for sam@acme-corp.com").click()
    expect(page.locator("#user-feedback")).to_contain_text("earlier ones no longer work")
    expect(page.locator("#invitation-shown-code")).not_to_have_text(first)
    second = page.locator("#invitation-shown-code").inner_text()

    # Signed out, the page offers to accept a code; the ended one is refused.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#invitation-shown-code")).to_have_text("")
    page.locator("summary", has_text="I have an invitation code").click()
    page.get_by_label("Invitation code").fill(first)
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#invitation-error")).to_have_text(
        "This invitation code is not valid (used, expired or unknown)."
    )
    expect(page.get_by_label("Invitation code")).to_have_attribute("aria-invalid", "true")
    browser.check_accessibility("invitation code refused")

    # The new one shows the token once, and signs Sam in with it.
    page.get_by_label("Invitation code").fill(second)
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#new-token")).to_be_focused()
    token = page.locator("#new-token-value").inner_text()
    assert token.startswith("nl_"), token
    browser.shoot("17-invitation-accepted")
    browser.check_accessibility("invitation accepted, token shown")
    page.get_by_role("button", name="I have kept it: sign in").click()
    expect(page.locator("#who-text")).to_have_text("Signed in as sam@acme-corp.com (user) of Acme.")
    expect(page.locator("#users")).to_be_hidden()
    expect(page.locator("#new-token-value")).to_have_text("")
    assert page.evaluate("sessionStorage.getItem('neverlog.token')") == token
