"""Headless Chromium through Playwright, for tests that need a real browser.

It drives Debian's /usr/bin/chromium (Playwright's own browser download cannot be
fetched here). Without that browser the tests are skipped, except under CI=true,
where a missing browser is a failure.
"""

import contextlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


# Per module, not per session: Playwright's sync API runs an event loop in this
# thread while it is open, and code under test that starts its own loop
# (asyncio.run in the push providers) must not find one running.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs /usr/bin/chromium for the browser tests (scripts/ensure-chromium installs it)")
        pytest.skip("no /usr/bin/chromium: install Debian's chromium package to run the browser tests")
    from playwright.sync_api import expect, sync_playwright

    # expect() waits 5 s by default, the page's own actions 10 s (below): a loaded CI machine
    # (SQLite's embedded mode, two cores) can take longer than 5 s to answer a fetch the
    # page makes as you type, so assertions wait as long as actions do.
    expect.set_options(timeout=10_000)

    # Playwright's sync API runs an event loop in this thread; the ORM calls that the
    # tests make around it are ordinary synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


# Calls window.cspViolation({...}) for each refusal of the Content-Security-Policy; added
# as an init script, it listens before any script of the page runs.
RECORD_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => window.cspViolation({
  page: location.pathname, directive: event.effectiveDirective, blocked: event.blockedURI,
  source: event.sourceFile, line: event.lineNumber,
}), true);
"""


# axe-core (Deque's accessibility engine, its script pinned through axe-playwright-python)
# with the WCAG 2 A and AA rules. It is handed to the page through Playwright's evaluate,
# which the DevTools protocol runs outside the page's Content-Security-Policy; a script
# tag would need script-src to allow it, and bypass_csp would hide the violations the
# fixture below is there to catch.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}, "resultTypes": ["violations"]}
# One run at a time per page (axe refuses a second while one runs): each waits for the last.
AXE_RUN = """options => {
  window.clarionAxe = (window.clarionAxe || Promise.resolve()).catch(() => null).then(() => axe.run(document, options));
  return window.clarionAxe.then((results) => results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    nodes: v.nodes.slice(0, 3).map((node) => node.target.join(" ") + " " + node.html.slice(0, 120)),
  })));
}"""


# Pages that are not ours: Django's admin and Swagger UI (the API docs) are third-party
# interfaces we do not restyle, with their own faults (unlabelled split date and time
# inputs, nested buttons, contrast); and on the admin's forms axe-core adds a <style>
# element that our Content-Security-Policy refuses, so checking them would report axe itself.
NOT_OURS = ("/admin/", "/api/docs")


def accessibility_problems(page):
    """axe-core's WCAG 2 A and AA violations on ``page`` as it is now, one line each."""
    from axe_playwright_python.base import AXE_SCRIPT

    where = urlsplit(page.url)
    if where.path.startswith(NOT_OURS) or where.scheme not in ("http", "https"):
        return []
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    where = where.path + (f"?{where.query}" if where.query else "")
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']}, {v['count']} element(s), e.g. {' | '.join(v['nodes'])}"
        for v in page.evaluate(AXE_RUN, AXE_OPTIONS)
    ]


class Accessibility:
    """Runs axe on each page of a context whenever one finishes loading, and on what is
    open at the end; keeps each distinct problem once."""

    def __init__(self, context):
        self.problems, self.watched = [], set()
        context.on("page", self.watch)

    def watch(self, page):
        if page not in self.watched:
            self.watched.add(page)
            page.on("load", self.check_loaded)

    def check_loaded(self, page):
        from playwright.sync_api import Error

        # An Error: the test moved on (a navigation, a close), and that page is checked on its own load.
        with contextlib.suppress(Error):
            self.record(accessibility_problems(page))

    def check_open(self, context):
        for page in context.pages:
            page.wait_for_load_state()
            self.record(accessibility_problems(page))

    def record(self, problems):
        self.problems += [problem for problem in problems if problem not in self.problems]


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh context. Whatever the test checks, it fails on a Content-Security-
    Policy violation on any page it opens (inline code or eval the policy refused), and on
    any WCAG 2 A or AA fault that axe-core finds there, each time a page loads and on the
    pages still open at the end."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    violations = []
    context.expose_function("cspViolation", lambda violation: violations.append(violation))
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    accessibility = Accessibility(context)
    page = context.new_page()
    accessibility.watch(page)
    yield page
    accessibility.check_open(context)
    context.close()
    assert violations == [], f"the Content-Security-Policy refused {violations}"
    assert accessibility.problems == [], "axe-core found accessibility faults:\n" + "\n".join(accessibility.problems)
