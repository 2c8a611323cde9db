"""The whole campaign wizard in headless Chromium, Start to Schedule (or Publish), as a
marketer does it: a recurring A/B web push to a saved segment, and a live "inaction
within time" mobile push to Android and iOS.

Each step is checked twice: what the page shows, and what Continue saved in the database.
One screenshot per step goes to ``<CLARION_VAR_DIR>/screenshots/wizard-<test>-<step>.png``
for a person to look at; nothing reads them back."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from conftest import PASSWORD
from segments.actions.ingest import record_events, register_device, upsert_profiles
from segments.actions.properties import forget_cache
from segments.models import Device, Profile, Segment
from segments.schemas import DeviceIn, EventIn, ProfileIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")
# A Monday, 11:00 in Paris: the campaign's first run is Thursday's, never today's 09:30.
MONDAY = datetime(2031, 3, 3, 11, 0, tzinfo=PARIS)
GOLD = {"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "gold"}]}


# Helpers.


def drawn(page):
    """Wait until htmx has sent every request and drawn its answer."""
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


def shot(page, test, step):
    folder = settings.VAR_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would sit in the middle of a full-page shot
    page.screenshot(path=str(folder / f"wizard-{test}-{step}.png"), full_page=True)


def log_in(page, username):
    page.goto("/login/?next=/campaigns/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))


def step_bar(page):
    """The step bar as {label: marks}: "current", "done" (drawn with a tick) or both."""
    items = page.locator("nav.steps li").evaluate_all(
        "items => items.map(li => [li.textContent.replace('✓', '').trim(),"
        " [...li.classList].sort().join(' '), li.textContent.trim().startsWith('✓')])"
    )
    for label, marks, ticked in items:
        assert ticked == ("done" in marks), label
    return {label: marks for label, marks, _ in items}


def on_step(page, campaign, step):
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/{step}/$"))
    drawn(page)


def go(page, direction):
    """Browser back or forward. The URL changes at once, while htmx fetches the step and
    swaps it in (wizard pages stay out of its history cache): wait for the new page."""
    page.evaluate("document.querySelector('main').dataset.left = 'yes'")
    if direction == "back":
        page.go_back()
    else:
        page.go_forward()
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => document.querySelector('main') && !document.querySelector('main[data-left]')")


def start(page, name, channel, kind):
    page.get_by_role("link", name="+ Campaign").first.click()
    page.get_by_label("Campaign name").fill(name)
    page.get_by_role("radio", name=re.compile(f"^{channel}")).check()
    page.get_by_role("radio", name=re.compile(f"^{kind}")).check()


def personalise(page, field, typed, label):
    """Type "@…" in ``field``, wait for the menu to offer only ``label``, and take it."""
    field.press_sequentially(typed)
    options = page.get_by_role("listbox", name="Personalise with").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options).to_contain_text(label)
    field.press("Enter")


def web_device(profile):
    Device.objects.create(
        profile=profile,
        platform=Device.Platform.WEB,
        browser="chrome",
        endpoint=f"https://push.example/{profile.identity}",
        p256dh="key",
        auth="secret",
        push_status=Device.PushStatus.ALLOWED,
    )


# A recurring A/B web push.


@pytest.fixture
def shoppers(db):
    """Two test profiles, gold and silver shoppers with web push (one gold without), and
    the events and properties the @ menu and the conversion goal offer."""
    forget_cache()  # the table of known properties is emptied between these tests
    upsert_profiles(
        [
            ProfileIn(identity="tess", name="Tess Tester", city="Lyon", properties={"tier": "gold"}, is_test=True),
            ProfileIn(identity="uma", name="Uma Tester", city="Nantes", properties={"tier": "silver"}, is_test=True),
            ProfileIn(identity="ada", name="Ada", properties={"tier": "gold"}),
            ProfileIn(identity="bo", name="Bo", properties={"tier": "gold"}),
            ProfileIn(identity="cy", name="Cy", properties={"tier": "silver"}),
            ProfileIn(identity="di", name="Di", properties={"tier": "gold"}),  # no device: qualifies, unreachable
        ]
    )
    for identity in ("tess", "uma", "ada", "bo", "cy"):
        web_device(Profile.objects.get(identity=identity))
    record_events([EventIn(identity="ada", name="Purchased", properties={"amount": 30, "sku": "P-1"})])
    gold = Segment.objects.create(name="Gold tier", rules=GOLD)
    Segment.objects.create(
        name="Silver tier", rules={**GOLD, "conditions": [{**GOLD["conditions"][0], "value": "silver"}]}
    )
    return gold


def test_a_marketer_schedules_a_recurring_ab_web_push_through_every_step(page, make_user, shoppers, time_machine):
    time_machine.move_to(MONDAY, tick=True)
    make_user(roles.MARKETER, username="mia")
    log_in(page, "mia")

    # Start: the name, the channel and the type make the draft.
    start(page, "Weekly picks", "Web Push", "Recurring")
    shot(page, "recurring", "1-start")
    page.get_by_role("button", name="Continue to Who").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/who/$"))
    campaign = Campaign.objects.get()
    on_step(page, campaign, "who")
    assert (campaign.name, campaign.channel, campaign.kind, campaign.status) == (
        "Weekly picks",
        "web_push",
        "recurring",
        "draft",
    )
    assert campaign.owner.username == "mia"
    assert campaign.steps_done == []
    assert step_bar(page) == {"Who": "current", "When": "", "What": "", "Setup": "", "Overview": ""}

    # Who: a saved segment found by searching, its reach, and reach limits.
    expect(page.get_by_label("A saved segment")).to_be_checked()
    page.get_by_label("Search by name").fill("gold")
    expect(page.locator("#who-segments-results tbody tr")).to_have_count(1)
    page.get_by_label("Gold tier").check()
    # tess, ada, bo and di are gold; di has no device.
    expect(page.locator("#reach-qualified")).to_have_attribute("data-count", "4")
    expect(page.locator("#reach-web")).to_have_attribute("data-count", "3")
    page.get_by_label("Run limit").fill("500")
    page.get_by_label("Safety check").fill("1000")
    shot(page, "recurring", "2-who")
    page.get_by_role("button", name="Continue to When").click()
    on_step(page, campaign, "when")
    campaign.refresh_from_db()
    assert (campaign.segment, campaign.reach_mode, campaign.run_limit, campaign.safety_limit) == (
        shoppers,
        "all",
        500,
        1000,
    )
    assert campaign.steps_done == ["who"]
    assert step_bar(page) == {"Who": "done", "When": "current", "What": "", "Setup": "", "Overview": ""}

    # When: weekly on Monday and Thursday at 09:30 in Paris, DND hours and a cut-off.
    page.get_by_label("Campaign time zone").fill("Europe/Paris")
    page.get_by_label("Weekly").check()
    page.get_by_label("Mon", exact=True).check()
    page.get_by_label("Thu", exact=True).check()
    page.get_by_label("At", exact=True).fill("09:30")
    page.get_by_label("Do Not Disturb hours").check()
    page.get_by_label("From", exact=True).fill("21:00")
    page.get_by_label("Until", exact=True).fill("08:00")
    page.get_by_label("Delay until DND ends").check()
    page.get_by_label("Cut-off time").fill("20:00")
    runs = page.locator("#when-runs")
    expect(runs.locator(".summary")).to_have_text(
        "Every week on Mon and Thu at 09:30 Europe/Paris, from when it is scheduled."
    )
    first_runs = ["Thu 6 Mar 2031, 09:30", "Mon 10 Mar 2031, 09:30", "Thu 13 Mar 2031, 09:30"]
    expect(runs.locator("ol.next-runs li")).to_have_count(5)
    expect(runs.locator("ol.next-runs li").nth(0)).to_have_text(first_runs[0])
    expect(runs.locator("ol.next-runs li").nth(2)).to_have_text(first_runs[2])
    shot(page, "recurring", "3-when")
    page.get_by_role("button", name="Continue to What").click()
    on_step(page, campaign, "what")
    campaign.refresh_from_db()
    assert (campaign.timezone, campaign.repeat, campaign.repeat_every, campaign.weekdays, campaign.send_time) == (
        "Europe/Paris",
        "weekly",
        1,
        [0, 3],
        time(9, 30),
    )
    assert (campaign.dnd_enabled, campaign.dnd_start, campaign.dnd_end, campaign.dnd_action) == (
        True,
        time(21),
        time(8),
        "delay",
    )
    assert campaign.cutoff_time == time(20)
    assert campaign.steps_done == ["who", "when"]

    # Back: When shows what was saved, not the page as it was first drawn; forward: What again.
    go(page, "back")
    on_step(page, campaign, "when")
    expect(page.get_by_label("Campaign time zone")).to_have_value("Europe/Paris")
    expect(page.get_by_label("Weekly")).to_be_checked()
    expect(page.get_by_label("Mon", exact=True)).to_be_checked()
    expect(page.get_by_label("Thu", exact=True)).to_be_checked()
    expect(page.get_by_label("At", exact=True)).to_have_value("09:30")
    expect(page.get_by_label("Cut-off time")).to_have_value("20:00")
    assert step_bar(page)["When"] == "current done"
    go(page, "forward")
    on_step(page, campaign, "what")

    # What: "@" inserts a tag; the preview renders it with the chosen test profile's data.
    title = page.locator("#id_v0-title")
    expect(title).to_have_attribute("data-personalise-ready", "1")
    title.press_sequentially("Hi ")
    personalise(page, title, "@fir", "profile.first_name")
    expect(title).to_have_value('Hi {{ profile.first_name | default: "there" }}')
    title.press_sequentially(", your picks")
    body = page.locator("#id_v0-body")
    body.press_sequentially("New for ")
    personalise(page, body, "@tier", "profile.tier")
    body.press_sequentially(" members")
    expect(body).to_have_value('New for {{ profile.tier | default: "" }} members')
    page.locator("#id_v0-url").fill("https://shop.example/picks")
    preview = page.locator("#what-preview")
    windows = preview.locator(".surface-chrome-windows")
    expect(preview.locator(".preview-for")).to_contain_text("Tess Tester")
    expect(windows.locator(".n-title")).to_have_text("Hi Tess, your picks")
    expect(windows.locator(".n-body")).to_have_text("New for gold members")

    # An A/B test: the message is copied into B, which gets its own title.
    page.get_by_text("A/B test", exact=True).click()
    drawn(page)
    expect(page.locator("section.variant")).to_have_count(2)
    expect(page.locator("#id_v1-title")).to_have_value('Hi {{ profile.first_name | default: "there" }}, your picks')
    page.locator("#id_v1-title").fill("Last chance, {{ profile.first_name }}")
    expect(windows.locator(".n-title")).to_have_text("Last chance, Tess")
    page.get_by_label("With the data of").select_option(label="Uma Tester")
    expect(preview.locator(".preview-for")).to_contain_text("Uma Tester")
    expect(windows.locator(".n-title")).to_have_text("Last chance, Uma")
    expect(windows.locator(".n-body")).to_have_text("New for silver members")
    page.locator("#id_ab_test_size").fill("20")
    page.get_by_label("Minutes to wait before picking the winner").fill("240")
    shot(page, "recurring", "4-what")
    page.get_by_role("button", name="Save and continue to Setup").click()
    on_step(page, campaign, "setup")
    campaign.refresh_from_db()
    assert (campaign.message_type, campaign.ab_mode, campaign.ab_test_size, campaign.ab_test_minutes) == (
        "ab",
        "percent",
        20,
        240,
    )
    variants = [(v.position, v.name, v.content) for v in campaign.variants.order_by("position")]
    body_text = 'New for {{ profile.tier | default: "" }} members'
    assert variants == [
        (
            0,
            "A",
            {
                "title": 'Hi {{ profile.first_name | default: "there" }}, your picks',
                "body": body_text,
                "url": "https://shop.example/picks",
            },
        ),
        (
            1,
            "B",
            {"title": "Last chance, {{ profile.first_name }}", "body": body_text, "url": "https://shop.example/picks"},
        ),
    ]
    assert campaign.steps_done == ["who", "when", "what"]

    # A reload mid-way loses nothing: Setup again, then What through the step bar, reloaded.
    page.reload()
    on_step(page, campaign, "setup")
    assert step_bar(page) == {"Who": "done", "When": "done", "What": "done", "Setup": "current", "Overview": ""}
    page.locator("nav.steps").get_by_role("link", name="What").click()
    on_step(page, campaign, "what")
    page.reload()
    on_step(page, campaign, "what")
    expect(page.get_by_label("A/B test")).to_be_checked()
    expect(page.locator("section.variant")).to_have_count(2)
    expect(page.locator("#id_v0-title")).to_have_value('Hi {{ profile.first_name | default: "there" }}, your picks')
    expect(page.locator("#id_v1-title")).to_have_value("Last chance, {{ profile.first_name }}")
    expect(page.locator("#id_v1-body")).to_have_value(body_text)
    expect(page.locator("#id_ab_test_size")).to_have_value("20")
    expect(page.get_by_label("Minutes to wait before picking the winner")).to_have_value("240")
    expect(windows.locator(".n-title")).to_have_text("Hi Tess, your picks")
    page.locator("nav.steps").get_by_role("link", name="Setup").click()
    on_step(page, campaign, "setup")

    # Setup: a control group, labels and a conversion goal.
    page.get_by_label("Hold out").fill("10")
    page.get_by_label("New labels, comma separated").fill("weekly, picks")
    page.get_by_label("Conversion event").fill("Purchased")
    page.get_by_label("Funnel conversion time").fill("2")
    page.get_by_label("Unit").select_option("days")
    page.get_by_label("Revenue property").fill("amount")
    shot(page, "recurring", "5-setup")
    page.get_by_role("button", name="Continue to Overview").click()
    on_step(page, campaign, "overview")
    campaign.refresh_from_db()
    assert (campaign.control_group_percent, campaign.goal_event, campaign.goal_window_minutes) == (
        10,
        "Purchased",
        2880,
    )
    assert (campaign.goal_after, campaign.revenue_property) == ("sent", "amount")
    assert sorted(label.name for label in campaign.labels.all()) == ["picks", "weekly"]
    assert campaign.steps_done == ["who", "when", "what", "setup"]

    # Overview: every choice in words, nothing missing, then Schedule.
    assert step_bar(page) == {"Who": "done", "When": "done", "What": "done", "Setup": "done", "Overview": "current"}
    expect(page.locator(".missing")).to_have_count(0)
    expect(page.locator("#summary-start")).to_contain_text("Web Push")
    expect(page.locator("#summary-start")).to_contain_text("Recurring")
    who = page.locator("#summary-who")
    expect(who).to_contain_text("Gold tier")
    expect(who).to_contain_text("tier equals gold")
    expect(who).to_contain_text("at most 500 people per run")
    expect(who).to_contain_text("do not run if more than 1,000 qualify")
    when = page.locator("#summary-when")
    expect(when).to_contain_text("Every week on Mon and Thu at 09:30 Europe/Paris")
    expect(when).to_contain_text("Thu 06 Mar 2031 09:30, Mon 10 Mar 2031 09:30, Thu 13 Mar 2031 09:30 (Europe/Paris)")
    expect(when).to_contain_text("21:00 to 08:00; messages are delayed until it ends")
    expect(when).to_contain_text("nothing is delivered after 20:00")
    what = page.locator("#summary-what")
    expect(what).to_contain_text("test population 20%, winner after 4 hours")
    expect(what.locator(".variant-summary h3")).to_have_text(["Message A", "Message B"])
    expect(what.locator(".variant-summary").nth(1)).to_contain_text("Last chance, {{ profile.first_name }}")
    setup = page.locator("#summary-setup")
    expect(setup).to_contain_text("10 % held out")
    expect(setup).to_contain_text("picks, weekly")
    expect(setup).to_contain_text("Purchased, within 2 days after the message is sent")
    shot(page, "recurring", "6-overview")
    page.get_by_role("button", name="Schedule notification").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("“Weekly picks” is scheduled.")
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    assert abs(campaign.scheduled_at - MONDAY.astimezone(UTC)) < timedelta(minutes=5)
    shot(page, "recurring", "7-scheduled")


# A live "inaction within time" mobile push.


@pytest.fixture
def app_users(db):
    """A test profile with an Android phone and an iPhone who left trail shoes in the
    cart, and the events the trigger, the @ menu and the conversion goal offer."""
    forget_cache()
    upsert_profiles(
        [
            ProfileIn(identity="theo", name="Theo Tester", properties={"tier": "gold"}, is_test=True),
            ProfileIn(identity="ann", name="Ann", properties={"tier": "silver"}),
        ]
    )
    register_device(DeviceIn(identity="theo", platform="android", token="fcm-token-theo-1", model="Pixel 8"))
    register_device(DeviceIn(identity="theo", platform="ios", token="a" * 64, model="iPhone 15"))
    register_device(DeviceIn(identity="ann", platform="android", token="fcm-token-ann-1"))
    record_events(
        [
            EventIn(identity="theo", name="Added To Cart", properties={"product": "Trail shoes", "price": 89}),
            EventIn(identity="ann", name="Purchased", properties={"amount": 42}),
        ]
    )


def test_a_marketer_publishes_a_live_inaction_mobile_push_through_every_step(page, make_user, app_users):
    make_user(roles.MARKETER, username="max")
    log_in(page, "max")

    # Start.
    start(page, "Cart reminder", "Mobile Push", "Inaction within time")
    shot(page, "inaction", "1-start")
    page.get_by_role("button", name="Continue to Who").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/who/$"))
    campaign = Campaign.objects.get()
    on_step(page, campaign, "who")
    assert (campaign.channel, campaign.kind, campaign.status) == ("mobile_push", "inaction", "draft")
    assert step_bar(page) == {"Who": "current", "When": "", "What": "", "Setup": "", "Overview": ""}

    # Who: everyone who does the trigger, on Android and iOS, at most 500 a day.
    expect(page.get_by_label("Everyone who does the trigger")).to_be_checked()
    expect(page.get_by_label("Android", exact=True)).to_be_checked()
    expect(page.get_by_label("iOS", exact=True)).to_be_checked()
    expect(page.locator("#reach")).to_contain_text("Reach cannot be known up front for a live campaign")
    page.get_by_label("Daily limit").fill("500")
    shot(page, "inaction", "2-who")
    page.get_by_role("button", name="Continue to When").click()
    on_step(page, campaign, "when")
    campaign.refresh_from_db()
    assert (campaign.segment, campaign.platforms, campaign.daily_limit) == (None, ["android", "ios"], 500)
    assert campaign.steps_done == ["who"]
    assert step_bar(page) == {"Who": "done", "When": "current", "What": "", "Setup": "", "Overview": ""}

    # When: Added To Cart over 20, and no Purchased within 30 minutes.
    expect(page.locator("#known-events option")).to_have_count(2)
    page.get_by_label("When someone does").fill("Added To Cart")
    page.locator("#trigger_filter_name-0").fill("price")
    page.locator("#trigger_filter_op-0").select_option(label="is more than")
    page.locator("#trigger_filter_value-0").fill("20")
    page.get_by_label("And does not do").fill("Purchased")
    page.get_by_label("Within").fill("30")
    page.get_by_label("Unit").select_option("minutes")
    page.get_by_label("Don't apply global campaign limits to this campaign").check()
    expect(page.locator("#when-runs .summary")).to_have_text(
        "When someone does Added To Cart with price over 20 and not Purchased within 30 minutes."
    )
    shot(page, "inaction", "3-when")
    page.get_by_role("button", name="Continue to What").click()
    on_step(page, campaign, "what")
    campaign.refresh_from_db()
    assert (campaign.trigger_event, campaign.inaction_event, campaign.inaction_minutes) == (
        "Added To Cart",
        "Purchased",
        30,
    )
    # A number property compares as a number (segments compare by type).
    assert campaign.trigger_filters == [{"name": "price", "op": "greater", "value": 20}]
    assert campaign.skip_global_limits is True
    assert campaign.steps_done == ["who", "when"]

    # A reload loses nothing, and Back shows When as saved.
    page.reload()
    on_step(page, campaign, "what")
    go(page, "back")
    on_step(page, campaign, "when")
    expect(page.get_by_label("When someone does")).to_have_value("Added To Cart")
    expect(page.locator("#trigger_filter_op-0")).to_have_value("greater")
    expect(page.get_by_label("Within")).to_have_value("30")
    go(page, "forward")
    on_step(page, campaign, "what")

    # What: the @ menu offers the trigger event's properties; the preview uses Theo's cart.
    title = page.locator("#id_v0-title")
    expect(title).to_have_attribute("data-personalise-ready", "1")
    personalise(page, title, "@prod", "event.product")
    title.press_sequentially(" is still in your cart")
    expect(title).to_have_value('{{ event.product | default: "" }} is still in your cart')
    body = page.locator("#id_v0-body")
    personalise(page, body, "@first", "profile.first_name")
    body.press_sequentially(", finish your order")
    page.get_by_label("Deep link").fill("https://shop.example/cart")
    page.get_by_text("Advanced: sound, badge, category, priority, channel").click()
    page.get_by_label("Sound").fill("default")
    page.get_by_label("Android priority").select_option("high")
    page.get_by_label("Android notification channel id").fill("cart")
    preview = page.locator("#what-preview")
    expect(preview.locator(".preview-for")).to_contain_text("Theo Tester")
    expect(preview.locator(".preview-for")).to_contain_text("latest “Added To Cart”")
    for surface in ("android", "ios"):
        expect(preview.locator(f".surface-{surface} .n-title")).to_have_text("Trail shoes is still in your cart")
        expect(preview.locator(f".surface-{surface} .n-body")).to_have_text("Theo, finish your order")
    shot(page, "inaction", "4-what")
    page.get_by_role("button", name="Save and continue to Setup").click()
    on_step(page, campaign, "setup")
    campaign.refresh_from_db()
    assert campaign.message_type == "single"
    assert [(v.name, v.content) for v in campaign.variants.all()] == [
        (
            "A",
            {
                "title": '{{ event.product | default: "" }} is still in your cart',
                "body": '{{ profile.first_name | default: "there" }}, finish your order',
                "url": "https://shop.example/cart",
                "sound": "default",
                "android_channel_id": "cart",
                "android_priority": "high",
            },
        )
    ]

    # Setup.
    page.get_by_label("Hold out").fill("5")
    page.get_by_label("New labels, comma separated").fill("cart")
    page.get_by_label("Conversion event").fill("Purchased")
    page.get_by_label("Funnel conversion time").fill("1")
    page.get_by_label("Unit").select_option("days")
    page.get_by_label("after the message is clicked").check()
    shot(page, "inaction", "5-setup")
    page.get_by_role("button", name="Continue to Overview").click()
    on_step(page, campaign, "overview")
    campaign.refresh_from_db()
    assert (campaign.control_group_percent, campaign.goal_event, campaign.goal_window_minutes) == (5, "Purchased", 1440)
    assert campaign.goal_after == "clicked"
    assert [label.name for label in campaign.labels.all()] == ["cart"]
    assert campaign.steps_done == ["who", "when", "what", "setup"]

    # Overview, then Publish.
    assert step_bar(page) == {"Who": "done", "When": "done", "What": "done", "Setup": "done", "Overview": "current"}
    expect(page.locator(".missing")).to_have_count(0)
    expect(page.locator("#summary-start")).to_contain_text("Inaction within time")
    who = page.locator("#summary-who")
    expect(who).to_contain_text("Everyone who does the trigger")
    expect(who).to_contain_text("Android, iOS")
    expect(who).to_contain_text("at most 500 people a day")
    when = page.locator("#summary-when")
    expect(when).to_contain_text(
        "When someone does Added To Cart with price over 20 and not Purchased within 30 minutes"
    )
    expect(when).to_contain_text("not applied")
    expect(page.locator("#summary-what")).to_contain_text('{{ event.product | default: "" }} is still in your cart')
    options = page.locator("#summary-what .variant-summary")
    shown = (("Android priority", "high"), ("Sound", "default"), ("Deep link", "https://shop.example/cart"))
    for option, value in shown:
        expect(options.locator("dt", has_text=option).locator("xpath=following-sibling::dd[1]")).to_have_text(value)
    expect(page.locator("#summary-setup")).to_contain_text("Purchased, within 1 day after the message is clicked")
    shot(page, "inaction", "6-overview")
    page.get_by_role("button", name="Publish campaign").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("“Cart reminder” is published.")
    campaign.refresh_from_db()
    assert campaign.status == "running"
    assert campaign.started_at is not None
    shot(page, "inaction", "7-published")


# The @ menu against a slow network.


def test_a_late_answer_for_an_earlier_keystroke_does_not_replace_the_at_menu(page, make_user, shoppers):
    # Each keystroke after "@" asks the server again; the answer for "@" alone (every
    # property, first_name first) must not replace the menu for "@tier" when it comes last.
    campaign = do_create_draft(
        name="Weekly picks", channel="web_push", kind="recurring", owner=make_user(roles.MARKETER, username="mia")
    )
    log_in(page, "mia")
    held = []

    def hold_the_unfiltered_answer(route):
        if route.request.url.endswith("/what/personalise/?q="):
            held.append(route)
        else:
            route.continue_()

    page.route("**/what/personalise/**", hold_the_unfiltered_answer)
    page.goto(f"/campaigns/{campaign.pk}/what/")
    drawn(page)
    body = page.locator("#id_v0-body")
    body.press_sequentially("New for @tier")
    options = page.get_by_role("listbox", name="Personalise with").get_by_role("option")
    expect(options).to_have_text([re.compile(r"^profile\.tier")])
    assert len(held) == 1
    with page.expect_response(lambda response: response.url.endswith("/what/personalise/?q=")):
        held[0].continue_()
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 100))")  # the answer's .then has run
    expect(options).to_have_text([re.compile(r"^profile\.tier")])
    body.press("Enter")
    expect(body).to_have_value('New for {{ profile.tier | default: "" }}')
