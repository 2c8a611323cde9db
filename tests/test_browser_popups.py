"""Web Exit Intent pop-ups on the demo site, in headless Chromium (issue 13, "Must show"):
the pop-up appears only for a visitor the campaign targets, on the very page where its
trigger happened (add to cart, then leave); a cap of 1 holds across three visitors; a
Silver customer gets the Silver message; the button calls the page's function; shows and
clicks reach the campaign's stats; exit intent on a touch screen (a fast scroll up) and
the Back button; the site's own CSS cannot break it (shadow DOM); Escape closes it, focus
stays inside while it is open and returns after; its text stays text.

Every page of the ``page`` fixture also fails the test on a CSP violation or an axe-core
WCAG A/AA fault, the pop-up included (axe reads open shadow roots)."""

import contextlib

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts import roles
from campaigns.models import Campaign, Variant
from config.demo_site import DEMO_SITE_NAME
from delivery.models import Message
from segments.models import Site
from stats.actions.rollup import do_roll_up
from tests.browser import RECORD_CSP_VIOLATIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADD_MUG = "Add Enamel mug to cart"
ADDED_TO_CART = {"type": "single_action", "event": "Added To Cart", "filters": []}
ON_THE_DEMO = {"type": "page_visit", "match": "contains", "url": "/demo/site/"}
COUPON = {
    "title": "Wait, {{ profile.first_name | default: 'friend' }}!",
    "body": "Your cart is saved: here is 10% off.",
    "button_text": "Get my coupon",
    "click_action": "js",
    "js_function": "demoShop.openCoupon",
}


@pytest.fixture(autouse=True)
def demo_site_on(settings):
    settings.DEMO_SITE = True  # production settings (DEBUG=0) hide the demo site


def exit_campaign(*variants, trigger=ADDED_TO_CART, **fields):
    """A running exit-intent campaign on the demo site; each variant a content dict, or
    (property value, content) for one message per user property value."""
    campaign = Campaign.objects.create(
        name="Leaving already?",
        channel=Campaign.Channel.EXIT_INTENT,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=Campaign.Status.RUNNING,
        exit_trigger=trigger,
        **fields,
    )
    for position, variant in enumerate(variants or [COUPON]):
        value, content = variant if isinstance(variant, tuple) else ("", variant)
        Variant.objects.create(
            campaign=campaign,
            position=position,
            name="ABCDEFGH"[position],
            property_value=value or "",
            is_fallback=value is None,
            content=content,
        )
    # The demo page adds its own origin to this Site (config/demo_site.py).
    site, _ = Site.objects.get_or_create(name=DEMO_SITE_NAME, defaults={"allowed_origins": []})
    campaign.sites.set([site])
    return campaign


def given(response):
    assert response.ok, response.text()
    return [popup["campaign"] for popup in response.json()["popups"]]


def open_demo(page, path="/demo/site/"):
    """The demo page, loaded; returns the campaigns whose pop-up Clarion gave it."""
    with page.expect_response("**/sdk/v1/popups") as answer:
        page.goto(path)
    return given(answer.value)


def add_to_cart(page):
    """Adds the mug to the cart; returns the campaigns whose pop-up the SDK's next ask
    (after the track() resolved, on the same page) was given."""
    with page.expect_response("**/sdk/v1/popups") as answer:
        page.get_by_role("button", name=ADD_MUG).click()
    return given(answer.value)


def leave_through_the_top(page):
    page.mouse.move(300, 200)
    page.mouse.move(300, -5)


def reported(page, event, action):
    """Runs ``action`` and waits for the SDK's report of ``event`` (shown, clicked, closed)."""
    with page.expect_response(
        lambda r: r.url.endswith("/sdk/v1/popups/report") and f'"event":"{event}"' in (r.request.post_data or "")
    ) as answer:
        action()
    assert answer.value.json() == {"recorded": True}


def messages(campaign):
    return Message.objects.filter(dispatch__run__campaign=campaign)


def test_an_abandoned_cart_shows_the_pop_up_on_the_same_page_and_its_button_calls_the_pages_function(
    page, make_user, live_server
):
    campaign = exit_campaign()
    dialog = page.get_by_role("dialog")

    assert open_demo(page) == []  # nothing in the cart: not a visitor the campaign targets
    leave_through_the_top(page)
    expect(dialog).to_have_count(0)

    assert add_to_cart(page) == [campaign.pk]  # same page, no reload
    reported(page, "shown", lambda: leave_through_the_top(page))
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("Wait, friend!")
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(dialog).to_contain_text("Your cart is saved: here is 10% off.")
    button = dialog.get_by_role("button", name="Get my coupon")
    expect(button).to_be_focused()

    reported(page, "clicked", button.click)
    expect(page.locator("#log")).to_contain_text(f"coupon opened (campaign {campaign.pk})")
    expect(dialog).to_have_count(0)
    leave_through_the_top(page)  # once per page
    expect(dialog).to_have_count(0)
    (message,) = messages(campaign)
    assert message.viewed_at and message.clicked_at and not message.closed_at

    # The campaign's stats page counts the show as viewed and the click, once each.
    do_roll_up()
    staff = Client()
    staff.force_login(make_user(roles.VIEWER))
    page.context.add_cookies([{"name": "sessionid", "value": staff.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(f"/stats/campaigns/{campaign.pk}/")
    expect(page.locator("#numbers [data-count=viewed]")).to_have_text("1")
    expect(page.locator("#numbers [data-count=clicked]")).to_have_text("1")
    expect(page.locator("[data-counter=ctr]")).to_have_text("100.00 %")


def test_a_cap_of_one_shows_the_pop_up_to_one_visitor_of_three(page, browser, live_server):
    campaign = exit_campaign(target_cap=1, daily_limit=1, reach_mode=Campaign.ReachMode.CAP)
    others = [browser.new_context(base_url=live_server.url) for _ in range(2)]
    try:
        visitors = [page, *(context.new_page() for context in others)]
        with contextlib.ExitStack() as waiting:  # the three open the shop at the same time
            for visitor in visitors:
                waiting.enter_context(visitor.expect_response("**/sdk/v1/popups"))
                visitor.goto("/demo/site/", wait_until="commit")
        with contextlib.ExitStack() as waiting:  # and add to cart at the same time
            answers = [waiting.enter_context(visitor.expect_response("**/sdk/v1/popups")) for visitor in visitors]
            for visitor in visitors:
                visitor.get_by_role("button", name=ADD_MUG).click()
        assert sorted(given(answer.value) for answer in answers) == [[], [], [campaign.pk]]
        for visitor in visitors:
            leave_through_the_top(visitor)
        shown = [visitor.get_by_role("dialog").count() for visitor in visitors]
        assert sorted(shown) == [0, 0, 1]
    finally:
        for context in others:
            context.close()
    assert messages(campaign).count() == 1


def identify(page, identity, customer_type):
    """Identifies with a customer type; waits for the SDK's ask for pop-ups that follows."""
    page.get_by_label("Identify as").select_option(identity)
    page.get_by_label("Customer type").select_option(customer_type)
    with page.expect_response("**/sdk/v1/popups"):
        page.get_by_role("button", name="Identify").click()
    expect(page.locator("#identified-as")).to_have_text(identity)


def test_a_silver_customer_gets_the_silver_message(page):
    campaign = exit_campaign(
        ("Gold", {**COUPON, "title": "Gold: 20% off"}),
        ("Silver", {**COUPON, "title": "Silver: 10% off"}),
        (None, {**COUPON, "title": "Welcome: 5% off"}),
        message_type=Campaign.MessageType.BY_PROPERTY,
        property_name="customer_type",
    )
    open_demo(page)
    identify(page, "bob", "Silver")
    assert add_to_cart(page) == [campaign.pk]
    leave_through_the_top(page)
    expect(page.get_by_role("dialog")).to_have_accessible_name("Silver: 10% off")


def test_escape_closes_it_focus_stays_inside_while_open_and_returns_after(page):
    campaign = exit_campaign()
    open_demo(page)
    add_to_cart(page)  # the click leaves focus on the Add to cart button
    leave_through_the_top(page)

    dialog = page.get_by_role("dialog")
    close, button = dialog.get_by_role("button", name="Close"), dialog.get_by_role("button", name="Get my coupon")
    expect(button).to_be_focused()
    page.keyboard.press("Tab")  # the last control: Tab goes round to the first
    expect(close).to_be_focused()
    assert close.evaluate("(node) => getComputedStyle(node).outlineStyle") == "solid"  # a visible focus ring
    page.keyboard.press("Shift+Tab")
    expect(button).to_be_focused()

    reported(page, "closed", lambda: page.keyboard.press("Escape"))
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name=ADD_MUG)).to_be_focused()
    (message,) = messages(campaign)
    assert message.viewed_at and message.closed_at and not message.clicked_at


# A site whose style sheet hides, shrinks and moves what the pop-up is made of; the pop-up
# lives in its own shadow root, under an element of its own with every property reset.
HOSTILE_CSS = """
div, p, h2, button, img { display: none !important; }
* { font-size: 0 !important; line-height: 0 !important; position: static !important;
    z-index: -1 !important; margin: 40px !important; }
body { transform: translateX(0); }
"""


# A browser without constructable style sheets: the SDK puts its styles on its elements'
# style properties instead (CSSOM, which a CSP without 'unsafe-inline' allows).
WITHOUT_ADOPTED_STYLE_SHEETS = "delete ShadowRoot.prototype.adoptedStyleSheets;"


@pytest.mark.parametrize("styles", ["style sheet", "element styles"])
def test_the_sites_own_css_does_not_break_it_and_its_text_stays_text(page, styles):
    if styles == "element styles":
        page.add_init_script(WITHOUT_ADOPTED_STYLE_SHEETS)
    page.route("**/demo/site.css*", lambda route: route.fulfill(content_type="text/css", body=HOSTILE_CSS))
    exit_campaign({**COUPON, "title": '<img src="x" onerror="window.hacked = 1">'}, trigger=ON_THE_DEMO)
    open_demo(page)
    leave_through_the_top(page)

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    title = dialog.get_by_role("heading")
    expect(title).to_have_text('<img src="x" onerror="window.hacked = 1">')
    assert dialog.locator("img").count() == 0
    assert page.evaluate("() => window.hacked") is None
    assert title.evaluate("(node) => getComputedStyle(node).fontSize") == "20px"
    uses_sheet = page.evaluate("() => document.querySelector('clarion-layer').shadowRoot.adoptedStyleSheets?.length")
    assert uses_sheet == (1 if styles == "style sheet" else None)
    box = dialog.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    dialog.get_by_role("button", name="Get my coupon").click()  # on top, and clickable
    expect(page.locator("#log")).to_contain_text("coupon opened")


def swipe_down(touch, page, pixels, step, pause_ms=0):
    """A finger moving down the screen by ``pixels`` (the page scrolls back up), ``step`` px
    per touch move with ``pause_ms`` between moves, through the DevTools protocol's touch
    input (one move takes ~40 ms on a loaded machine: a flick needs big steps)."""

    def send(kind, y=None):
        points = [] if y is None else [{"x": 200, "y": y}]
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    send("touchStart", 150)
    for moved in range(step, pixels + 1, step):
        send("touchMove", 150 + moved)
        if pause_ms:
            page.wait_for_timeout(pause_ms)
    send("touchEnd")


def test_on_a_touch_screen_a_fast_scroll_up_is_exit_intent(browser, live_server):
    exit_campaign(trigger=ON_THE_DEMO)
    phone = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 640}, is_mobile=True, has_touch=True
    )
    violations = []
    phone.expose_function("cspViolation", lambda violation: violations.append(violation))
    phone.add_init_script(RECORD_CSP_VIOLATIONS)
    try:
        page = phone.new_page()
        assert open_demo(page) != []
        touch = phone.new_cdp_session(page)
        dialog = page.get_by_role("dialog")
        page.evaluate("() => window.scrollTo(0, 1200)")  # reading on, down the page
        start = page.evaluate("() => window.scrollY")
        assert start > 900

        swipe_down(touch, page, 160, 20, pause_ms=100)  # a slow scroll back up (~200 px/s) is reading
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.scrollY") < start - 100
        expect(dialog).to_have_count(0)

        swipe_down(touch, page, 420, 60)  # a flick back up, towards the address bar
        expect(dialog).to_be_visible()
    finally:
        phone.close()
    assert violations == []


def test_the_back_button_shows_it_instead_of_leaving(page):
    exit_campaign(trigger=ON_THE_DEMO)
    open_demo(page)
    page.locator("h1").click()  # the visitor's first tap: browsers skip history entries added before one
    page.go_back()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert page.url.endswith("/demo/site/")
