"""The settings page at /, in a real headless Chromium, against a real ``neverlog serve``:
sign in with a token, add patterns (and see a refusal beside what was typed), remove one,
and try an email. Screenshots of each step go to test-artifacts/settings-page/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Api
from tests.live_server import REPO, LiveServer, live_server

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - where the dev extras are not installed
    sync_api = None  # type: ignore[assignment]
CHROMIUM = shutil.which("chromium")
NO_BROWSER = (
    "playwright is not installed: make install"
    if sync_api is None
    else "no chromium on PATH: apt-get install chromium to run the browser test"
    if CHROMIUM is None
    else None
)
in_a_browser = pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")
# Debian's chromium, driven by Playwright (never `playwright install`, which downloads a browser).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "test-artifacts" / "settings-page"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path) as running:
        yield running


@pytest.fixture
def page(server: LiveServer) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            tab = context.new_page()
            tab.set_default_timeout(10_000)
            problems: list[str] = []
            tab.on(
                "console",
                lambda m: (
                    problems.append(f"{m.text} ({m.location.get('url')})")
                    if m.type == "error"
                    else None
                ),
            )
            tab.on("pageerror", lambda e: problems.append(str(e)))
            tab.on(
                "request",
                lambda r: (
                    None if r.url.startswith(server.url) else problems.append(f"external: {r.url}")
                ),
            )
            yield tab
            # No script error, no CSP violation, nothing fetched from elsewhere (the missing
            # favicon is the browser's own request).
            assert [p for p in problems if "/favicon.ico" not in p] == []
        finally:
            browser.close()


async def test_the_page_and_its_files_are_served(api: Api) -> None:
    # when
    page = await api.client.get("/")
    script = await api.client.get("/static/app.js")
    style = await api.client.get("/static/style.css")
    outside = await api.client.get("/static/../settings.py")

    # then
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/app.js" defer></script>' in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert outside.status_code == 404


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def listed(page: Any, section: str) -> list[str]:
    texts: list[str] = page.locator(f"#{section} tbody tr td.pattern").all_inner_texts()
    return texts


def add_through_dialog(page: Any, section: str, patterns: str) -> None:
    page.locator(f"#{section} .add-button").click()
    dialog = page.locator("#add-dialog")
    sync_api.expect(dialog).to_be_visible()
    page.get_by_label("Addresses or domains").fill(patterns)
    dialog.get_by_role("button", name="Add", exact=True).click()


@in_a_browser
def test_a_person_keeps_their_lists_and_tries_an_email(page: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    account = server.create_account("Acme", "admin@acme-corp.com")

    # Signed out: only the token form.
    page.goto(server.url + "/")
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.locator("#personal")).to_be_hidden()
    shoot(page, "01-signed-out")

    # A wrong token is refused where it was typed.
    page.get_by_label("API token").fill("nl_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#token-error")).to_contain_text("This token is not accepted")
    shoot(page, "02-token-refused")

    # Signed in: both lists, empty, with their counts and limits.
    page.get_by_label("API token").fill(account["token"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who-text")).to_have_text(
        "Signed in as admin@acme-corp.com (super admin) of Acme."
    )
    expect(page.locator("#personal .usage")).to_have_text("0 of 500 entries · 500 more allowed")
    expect(page.locator("#account .usage")).to_have_text("0 of 500 entries · 500 more allowed")
    assert page.evaluate("sessionStorage.getItem('neverlog.token')") == account["token"]
    assert page.evaluate("localStorage.length") == 0
    shoot(page, "03-signed-in")

    # Several patterns at once, separated as the API accepts them.
    page.locator("#personal .add-button").click()
    page.get_by_label("Addresses or domains").fill(
        "sister@family-mail.com; old@friend.org\n*@*.hospital.org"
    )
    shoot(page, "04-add-dialog")
    page.locator("#add-dialog").get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-dialog")).to_be_hidden()
    expect(page.locator("#personal .usage")).to_have_text("3 of 500 entries · 497 more allowed")
    assert listed(page, "personal") == [
        "*@*.hospital.org",
        "old@friend.org",
        "sister@family-mail.com",
    ]
    expect(page.locator("#status")).to_contain_text("Added")
    add_through_dialog(page, "account", "LawFirm.com")
    expect(page.locator("#account .usage")).to_have_text("1 of 500 entries · 499 more allowed")
    assert listed(page, "account") == ["*@lawfirm.com"]
    shoot(page, "05-added")

    # An invalid pattern: the refusal stands beside what was typed, and nothing is added.
    typed = "new@friend.org, na*me@x.com, <b>bold</b>@x.com"
    add_through_dialog(page, "personal", typed)
    errors = page.locator("#patterns-errors li")
    expect(errors.first).to_contain_text('"na*me@x.com" is not a valid never-log pattern')
    expect(page.locator("#add-dialog")).to_be_visible()
    textarea = page.get_by_label("Addresses or domains")
    expect(textarea).to_have_value(typed)
    expect(textarea).to_have_attribute("aria-invalid", "true")
    assert "patterns-errors" in (textarea.get_attribute("aria-describedby") or "")
    # Messages are text, never markup: the quoted <b> stays as typed.
    assert page.locator("#patterns-errors b").count() == 0
    expect(errors.last).to_contain_text("<b>bold</b>@x.com")
    shoot(page, "06-refused")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#personal .usage")).to_have_text("3 of 500 entries · 497 more allowed")
    assert "new@friend.org" not in listed(page, "personal")

    # Remove an entry.
    page.get_by_role("button", name="Remove old@friend.org from your personal list").click()
    expect(page.locator("#personal .usage")).to_have_text("2 of 500 entries · 498 more allowed")
    assert listed(page, "personal") == ["*@*.hospital.org", "sister@family-mail.com"]
    expect(page.locator("#status")).to_have_text("Removed old@friend.org from your personal list.")
    shoot(page, "07-removed")

    # The token lasts as long as the tab: a reload stays signed in.
    page.reload()
    expect(page.locator("#personal .usage")).to_have_text("2 of 500 entries · 498 more allowed")

    # Try an email: every recipient's outcome and why.
    page.get_by_label("Sent through").select_option("SALES_EXTENSION")
    page.get_by_label("To", exact=True).fill("Jane Doe <jane@lawfirm.com>, bob@customer.com")
    page.get_by_label("Cc", exact=True).fill("sister@family-mail.com")
    page.get_by_label("Bcc", exact=True).fill("dr.who@er.hospital.org; not-an-address")
    page.get_by_role("button", name="Decide").click()
    rows = page.locator("#decision-table tbody tr")
    expect(rows).to_have_count(5)
    outcomes = {
        row.get_attribute("data-address"): (
            row.get_attribute("data-outcome"),
            row.locator("td.outcome").inner_text(),
            row.locator("td.explanation").inner_text(),
        )
        for row in rows.all()
    }
    assert outcomes == {
        "jane@lawfirm.com": (
            "NEVER_LOG",
            "Never logged",
            "Not logged: jane@lawfirm.com matches *@lawfirm.com on the account-wide never-log list.",
        ),
        "bob@customer.com": (
            "LOGGED",
            "Logged",
            "Logged: bob@customer.com matches no never-log entry, so the email is logged to a "
            "new contact created for it.",
        ),
        "sister@family-mail.com": (
            "NEVER_LOG",
            "Never logged",
            "Not logged: sister@family-mail.com matches sister@family-mail.com on the sender's "
            "personal never-log list.",
        ),
        "dr.who@er.hospital.org": (
            "NEVER_LOG",
            "Never logged",
            "Not logged: dr.who@er.hospital.org matches *@*.hospital.org on the sender's "
            "personal never-log list.",
        ),
        "not-an-address": ("INVALID_ADDRESS", "Invalid address", outcomes["not-an-address"][2]),
    }
    assert "not-an-address" in outcomes["not-an-address"][2]
    expect(page.locator("#decision-summary")).to_contain_text(
        "1 of 5 recipients logged, 3 never logged."
    )
    shoot(page, "08-decision")

    # A narrow window: still readable, nothing wider than the screen.
    page.set_viewport_size({"width": 380, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    shoot(page, "09-narrow")

    # Signing out forgets the token.
    page.set_viewport_size({"width": 1100, "height": 900})
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('neverlog.token')") is None


def graphql(
    server: LiveServer, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    import httpx

    body: dict[str, Any] = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@in_a_browser
def test_a_user_reads_the_account_list_but_does_not_change_it(
    page: Any, server: LiveServer
) -> None:
    expect = sync_api.expect
    admin = server.create_account("Acme", "admin@acme-corp.com")["token"]
    graphql(
        server,
        admin,
        "mutation($input: AddNeverLogEntriesInput!) { addNeverLogEntries(input: $input) { userErrors { code } } }",
        {"input": {"scope": "ACCOUNT", "patterns": ["*@lawfirm.com"]}},
    )
    user_id = graphql(
        server,
        admin,
        "mutation($input: AddUserInput!) { addUser(input: $input) { user { id } } }",
        {"input": {"email": "sam@acme-corp.com", "name": "Sam"}},
    )["addUser"]["user"]["id"]
    token = graphql(
        server,
        admin,
        "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }",
        {"input": {"name": "browser", "userId": user_id}},
    )["createApiToken"]["token"]

    page.goto(server.url + "/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#who-text")).to_have_text("Signed in as sam@acme-corp.com (user) of Acme.")
    expect(page.locator("#account .usage")).to_have_text("1 of 500 entries · 499 more allowed")
    assert listed(page, "account") == ["*@lawfirm.com"]
    expect(page.locator("#account .add-button")).to_be_hidden()
    expect(page.locator("#account button.remove")).to_have_count(0)
    expect(page.locator("#account .account-hint")).to_contain_text("Your super admins keep it.")
    expect(page.locator("#personal .add-button")).to_be_visible()
    shoot(page, "10-user-view")
