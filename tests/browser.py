"""Headless Chromium through Playwright, for tests that need a real browser.

It drives Debian's /usr/bin/chromium (Playwright's own browser download cannot be
fetched here). Without that browser the tests are skipped, except under CI=true,
where a missing browser is a failure.
"""

import os
from pathlib import Path

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
    from playwright.sync_api import sync_playwright

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


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh context. Whatever the test checks, a Content-Security-Policy
    violation on any page it opens fails it (inline code or eval the policy refused)."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    violations = []
    context.expose_function("cspViolation", lambda violation: violations.append(violation))
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    yield page
    context.close()
    assert violations == [], f"the Content-Security-Policy refused {violations}"
