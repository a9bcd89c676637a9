"""The browser tests' harness: Debian's Chromium driven by Playwright (never `playwright
install`, which downloads a browser of its own), against a real ``neverlog serve``, with every
request to another host refused; axe-core (tests/browser/package.json, pinned) run in the page
for an accessibility check; the accessibility report and (make test-all) screenshots in
test-artifacts/settings-page/."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import REPO, LiveServer, live_server
from tests.profiles import LONG

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - where the dev extras are not installed
    sync_api = None  # type: ignore[assignment]

CHROMIUM = shutil.which("chromium")
HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "test-artifacts" / "settings-page"
REPORT = SHOTS / "axe-report.json"
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
# WCAG 2.0, 2.1 and 2.2 at levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _no_browser() -> str | None:
    if sync_api is None:
        return "playwright is not installed: make install"
    if CHROMIUM is None:
        return "no chromium on PATH: apt-get install chromium to run the browser tests"
    return None


def _axe_source() -> str:
    """axe-core's script, installed from tests/browser/package-lock.json once."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: it is needed once to install axe-core")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def axe_report() -> Iterator[dict[str, Any]]:
    """Every check's results, written out when the session ends."""
    report: dict[str, Any] = {"checks": []}
    yield report
    if report["checks"]:
        totals: Counter[str] = Counter()
        for check in report["checks"]:
            totals.update(check["violations_by_impact"])
        report["totals"] = {
            "checks": len(report["checks"]),
            "violations": sum(c["violations"] for c in report["checks"]),
            "violations_by_impact": dict(totals),
            "passes": sum(c["passes"] for c in report["checks"]),
            "incomplete": sum(c["incomplete"] for c in report["checks"]),
        }
        SHOTS.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(report, indent=2) + "\n")


class Browser:
    """A tab on the server, and what the tests do with it."""

    def __init__(
        self, page: Any, server: LiveServer, axe: str, report: dict[str, Any], shared: _Context
    ) -> None:
        self.page = page
        self.server = server
        self._axe = axe
        self._report = report
        self._shared = shared
        self.external: list[str] = []
        self.problems: list[str] = []
        self.expected: list[str] = []  # console messages that a step causes on purpose

    def another_tab(self) -> Browser:
        """A second tab of the same browser (its own sessionStorage: its own sign-in), whose
        script errors count as this one's."""
        tab = self.page.context.new_page()
        tab.set_default_timeout(10_000)
        tab.on("pageerror", lambda e: self.problems.append(str(e)))
        tab.on(
            "console",
            lambda m: (
                self.problems.append(f"{m.text} ({m.location.get('url')})")
                if m.type == "error"
                else None
            ),
        )
        other = Browser(tab, self.server, self._axe, self._report, self._shared)
        return other

    def install_clock(self) -> None:
        """The page's timers on a clock that the test moves (Playwright's ``clock``). It
        stays installed in the browser context for good: the context is closed after the
        test, and the next test has a new one."""
        self._shared.spoiled = True
        self.page.clock.install()

    def shoot(self, name: str) -> None:
        """A full-page screenshot in test-artifacts/, for a person to look at (it asserts
        nothing): taken in the long profile (make test-all, CI), whose artifacts are kept;
        make test spares Chromium the rendering (about 0.3 s of CPU each, 30 of them)."""
        if LONG:
            self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def check_accessibility(self, name: str, upstream: frozenset[str] = frozenset()) -> None:
        """axe-core on the page as it is now: no serious or critical violation, but for the
        ``upstream`` rules: known failures of a vendored package's own markup (reported, in
        the report too, not ours to fix in CSS or labels)."""
        # axe-core's 550 kB script once a document (its parse and set-up took 0.05 to 0.25 s a
        # check): a navigation since the last check leaves a document without it.
        if self.page.evaluate("() => typeof window.axe?.run !== 'function'"):
            self.page.evaluate(self._axe + "\n;void 0")
        results = self.page.evaluate(
            "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
            " return {violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})),"
            " passes: r.passes.length, incomplete: r.incomplete.length}; }",
            AXE_TAGS,
        )
        impacts = Counter(v["impact"] for v in results["violations"])
        self._report["checks"].append(
            {
                "page": name,
                "violations": len(results["violations"]),
                "violations_by_impact": dict(impacts),
                "details": results["violations"],
                "passes": results["passes"],
                "incomplete": results["incomplete"],
            }
        )
        serious = [
            v
            for v in results["violations"]
            if v["impact"] in ("serious", "critical") and v["id"] not in upstream
        ]
        assert serious == [], json.dumps(serious, indent=2)

    def sign_in(self, token: str) -> None:
        self.page.goto(self.server.url + "/")
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        sync_api.expect(self.page.locator("#who-text")).to_contain_text("Signed in as")

    def control_contrast(self) -> list[str]:
        """Visible, enabled controls whose boundary (border, or their own background) has
        less than 3:1 against what is behind them."""
        found: list[str] = self.page.evaluate(
            "() => {"
            + CONTRAST_JS
            + """
            const weak = [];
            for (const e of document.querySelectorAll('button, select, textarea, input:not([type=checkbox]):not([type=radio]):not([type=file]):not([type=hidden])')) {
              if (e.disabled || !e.offsetParent) continue;
              const s = getComputedStyle(e), back = behind(e);
              const border = parseFloat(s.borderTopWidth) > 0 ? ratio(parse(s.borderTopColor), back) : 1;
              const own = parse(s.backgroundColor);
              const fill = own && own.a > 0.5 ? ratio(own, back) : 1;
              if (Math.max(border, fill) < 3) weak.push(label(e) + ': ' + Math.max(border, fill).toFixed(2));
            }
            return weak; }"""
        )
        return found

    def focus_rings_while_tabbing(self, stops: int) -> list[str]:
        """Press Tab ``stops`` times: each control reached must show a focus ring of at least
        2 px with 3:1 against what is behind it. What is wrong, at which stop."""
        weak: list[str] = []
        for stop in range(stops):
            self.page.keyboard.press("Tab")
            found = self.page.evaluate(
                "() => {"
                + CONTRAST_JS
                + """
                const e = document.activeElement; if (!e || e === document.body) return null;
                const s = getComputedStyle(e);
                const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                  ? ratio(parse(s.outlineColor), behind(e)) : 0;
                return {name: label(e), ring: ring}; }"""
            )
            if found is not None and found["ring"] < 3:
                weak.append(f"stop {stop + 1}, {found['name']}: {found['ring']:.2f}")
        return weak

    def focused(self) -> str:
        """The focused element's accessible-ish name: its aria-label or text."""
        name: str = self.page.evaluate(
            "() => { const e = document.activeElement; return e ? (e.getAttribute('aria-label') || e.innerText || e.id || e.tagName) : ''; }"
        )
        return name.strip()


# WCAG 1.4.11 (non-text contrast), which axe-core does not check: the contrast of a colour
# against the first opaque background behind an element.
CONTRAST_JS = """
const parse = (c) => { const m = /rgba?\\(([^)]+)\\)/.exec(c || ''); if (!m) return null;
  const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
const lum = ({r, g, b}) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const behind = (el) => { for (let n = el.parentElement; n; n = n.parentElement) {
  const c = parse(getComputedStyle(n).backgroundColor); if (c && c.a > 0.5) return c; }
  return {r: 255, g: 255, b: 255, a: 1}; };
const label = (e) => (e.getAttribute('aria-label') || e.innerText || e.id || e.name || e.tagName).trim().slice(0, 60);
"""


def graphql(
    server: LiveServer, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    http = _CLIENTS.get(server.url)
    post = http.post if http is not None else httpx.post
    body: dict[str, Any] = post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        # no token: as a new user accepting an invitation
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=30,
    ).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def fill_list(server: LiveServer, token: str, scope: str, patterns: list[str]) -> None:
    """The list holds exactly these patterns (one import, REPLACE)."""
    payload = graphql(
        server,
        token,
        "mutation($input: ImportNeverLogListInput!) { importNeverLogList(input: $input) "
        "{ addedCount userErrors { message } } }",
        {"input": {"scope": scope, "csv": "\n".join(patterns), "mode": "REPLACE"}},
    )["importNeverLogList"]
    assert payload["userErrors"] == [], payload


def add_user(server: LiveServer, admin_token: str, email: str) -> str:
    """A USER of the admin's account; their token, from the invitation that adding them
    answers (accepted without a token, as the user would)."""
    code = graphql(
        server,
        admin_token,
        "mutation($input: AddUserInput!) { addUser(input: $input) { invitationCode } }",
        {"input": {"email": email, "name": email.split("@")[0].title()}},
    )["addUser"]["invitationCode"]
    token: str = graphql(
        server,
        "",
        "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { token } }",
        {"input": {"code": code, "tokenName": "browser"}},
    )["acceptInvitation"]["token"]
    return token


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for every browser test (they run on one worker: ``SHARED`` in
    tests/conftest.py): each makes an account of its own, and what a test changes in the
    browser (tabs, routes, storage) is taken out after it (``_Context``)."""
    reason = _no_browser()
    if reason is not None:
        pytest.skip(reason)
    with (
        live_server(tmp_path_factory.mktemp("browser")) as running,
        httpx.Client() as http,
    ):
        _CLIENTS[running.url] = http
        try:
            yield running
        finally:
            del _CLIENTS[running.url]


# The HTTP client of each server that ``server`` started, for ``graphql``: a new client per
# call (``httpx.post``) loads the CA bundle each time, about 40 ms of CPU.
_CLIENTS: dict[str, httpx.Client] = {}


class _Chromium:
    """One Chromium for the browser tests that run one after another, and one browser
    context in it that they take in turn (``_Context``). Playwright's sync API runs an
    event loop on this thread while it is started, where no asyncio test can run: it is
    stopped after the last test in a row that needs it (``nextitem``), and started again by
    the next one."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None
        self._shared: _Context | None = None
        self.next_needs_it = False

    def get(self) -> Any:
        if self._browser is None:
            self._playwright = sync_api.sync_playwright().start()
            try:
                self._browser = self._playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
            except BaseException:
                self.stop()
                raise
        return self._browser

    def context(self) -> _Context:
        """The shared context, made where there is none (the first test, or the one after a
        test that spoiled it)."""
        if self._shared is None:
            self._shared = _Context(self.get())
        return self._shared

    def drop_context(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            shared.close()

    def stop(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._shared = None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


class _Context:
    """A browser context that the tests take in turn, each with tabs of its own: what a
    test leaves in the context is taken out after it (its tabs closed, cookies and
    localStorage cleared, its routes removed), and a test that changes the context in a way
    that cannot be undone (``Browser.install_clock``) or fails has it closed after it.

    Why not a context per test: the first page of a new context cost Chromium about 1.5 s
    of CPU here, where a new tab of a context that holds another tab (the ``keeper``, empty,
    open as long as the context) cost 0.4 s. Over the browser tests, Chromium's CPU went
    from 91 s to 70 s."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(
            viewport={"width": 1100, "height": 900}, accept_downloads=True
        )
        self._keeper = self.context.new_page()
        self.spoiled = False

    def clean(self, origin: str) -> None:
        """Back to how the next test must find it: the keeper alone, nothing stored by the
        origin (cookies, localStorage, IndexedDB, caches; sessionStorage goes with the
        tabs), no route."""
        self.context.unroute_all(behavior="ignoreErrors")
        for tab in self.context.pages:
            if tab is not self._keeper:
                tab.close()
        self.context.clear_cookies()
        self.context.clear_permissions()
        cdp = self.context.new_cdp_session(self._keeper)
        try:
            cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
        finally:
            cdp.detach()

    def close(self) -> None:
        self.context.close()


_CHROMIUM = _Chromium()


@pytest.fixture
def chromium(server: LiveServer) -> Iterator[Any]:
    yield _CHROMIUM.get()
    # Torn down after the test's browser context, before any wider fixture (the session's
    # asyncio fixtures among them).
    if not _CHROMIUM.next_needs_it:
        _CHROMIUM.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Before the test's fixtures are torn down: whether the next test needs Chromium too."""
    _CHROMIUM.next_needs_it = nextitem is not None and "chromium" in getattr(
        nextitem, "fixturenames", ()
    )


@pytest.fixture
def browser(
    request: pytest.FixtureRequest, server: LiveServer, chromium: Any, axe_report: dict[str, Any]
) -> Iterator[Browser]:
    """A new tab on the server, in the context that the browser tests take in turn, with
    every request to another host refused."""
    axe = _axe_source()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shared = _CHROMIUM.context()
    context = shared.context
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    driver = Browser(tab, server, axe, axe_report, shared)
    passed = False
    try:

        def only_this_server(route: Any) -> None:
            if route.request.url.startswith(server.url):
                route.continue_()
            else:
                driver.external.append(route.request.url)
                route.abort()

        # The network to every other host is cut: whatever the page needs is served here.
        context.route("**/*", only_this_server)
        tab.on(
            "console",
            lambda m: (
                driver.problems.append(f"{m.text} ({m.location.get('url')})")
                if m.type == "error"
                else None
            ),
        )
        tab.on("pageerror", lambda e: driver.problems.append(str(e)))
        yield driver
        # No script error, no CSP violation, nothing asked of another host.
        assert driver.external == []
        assert [p for p in driver.problems if not any(e in p for e in driver.expected)] == []
        passed = not request.node.stash.get(FAILED, False)
    finally:
        if not shared.spoiled and passed:
            try:
                shared.clean(server.url)
            except Exception:
                shared.spoiled = True
        if shared.spoiled or not passed:
            _CHROMIUM.drop_context()


# Whether the test itself failed (``browser`` closes the context after a failure: what the
# test left in it is unknown).
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report
