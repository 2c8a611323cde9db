"""The browser tests' accessibility check (tests/browser.py) sees faults: axe-core runs on
each page as it loads, under the Content-Security-Policy, and its findings fail the test."""

import pytest

from tests.browser import Accessibility, accessibility_problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAULTY = """<!doctype html><html lang="en"><head><title>Faulty</title></head>
<body><main><p>Read <a href="/x" class="plain">the terms</a> first.</p><img src="/logo.png"></main></body></html>"""


def test_each_loaded_page_is_checked_and_its_faults_named(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    try:
        accessibility = Accessibility(context)
        page = context.new_page()
        accessibility.watch(page)
        # A page of our own making with an image without a text alternative, served under
        # the app's address so the check treats it as one of ours.
        page.route("**/faulty/", lambda route: route.fulfill(status=200, content_type="text/html", body=FAULTY))
        page.goto("/faulty/")
        # The check runs beside the test (a load event's handler): give it its 100-300 ms.
        for _ in range(100):
            if accessibility.problems:
                break
            page.wait_for_timeout(50)
        page.goto("/login/")
        accessibility.check_open(context)  # the page open at the end: the login page, clean
    finally:
        context.close()
    assert [problem.split(" ")[:2] for problem in accessibility.problems] == [["/faulty/:", "image-alt"]]


def test_the_login_page_has_no_fault_under_its_content_security_policy(page):
    response = page.goto("/login/")
    assert "content-security-policy" in response.headers
    assert accessibility_problems(page) == []
