"""POST /sdk/v1/popups/report: a pop-up's show, click and close, each recorded once, only from
the browser it was given to; and what they become on the campaign's pages (the push counts'
functions: sent, viewed, clicked, CTR, conversions, the control group's lift)."""

import pytest
import time_machine
from django.urls import reverse
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st

from campaigns.models import Campaign
from campaigns.tests.popups import NOW, ORIGIN, Browser, make_popup, make_site
from delivery.models import Message
from segments.models import Event, Profile
from stats import reports
from stats.actions.conversions import credit_conversions
from stats.actions.rollup import do_roll_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return make_site()


@pytest.fixture
def given(site):
    """(campaign, browser, message id) of a pop-up given to a browser."""
    campaign = make_popup(site, goal_event="Purchase", goal_window_minutes=60)
    browser = Browser(site)
    (item,) = browser.popups()
    return campaign, browser, item["message"]


def recorded(response):
    assert response.status_code == 200, response.content
    return response.json()["recorded"]


def test_shown_clicked_and_closed_are_each_recorded_once(given):
    _, browser, message = given

    assert [recorded(browser.report(message, event)) for event in ("shown", "shown")] == [True, False]
    assert [recorded(browser.report(message, event)) for event in ("clicked", "clicked")] == [True, False]
    assert [recorded(browser.report(message, event)) for event in ("closed", "closed")] == [True, False]

    row = Message.objects.get(pk=message)
    assert row.viewed_at == row.clicked_at == row.closed_at == NOW


def test_a_click_is_also_a_show(given):
    _, browser, message = given
    assert recorded(browser.report(message, "clicked"))
    assert Message.objects.get(pk=message).viewed_at == NOW


def test_once_shown_it_is_not_given_again_that_day(given):
    _, browser, message = given
    browser.report(message, "shown")
    assert browser.popups(pageCount=2) == []


def test_only_the_browser_it_was_given_to_may_report_it(given, site):
    _, _, message = given
    stranger = Browser(site)
    stranger.popups()  # a browser Clarion knows, with pop-ups of its own
    response = stranger.report(message, "clicked")
    assert response.status_code == 404
    assert Message.objects.get(pk=message).clicked_at is None


@pytest.mark.parametrize("message", ["999999", "0", "12abc", "-1", "١٢"])
def test_an_unknown_message_is_a_404(given, message):
    _, browser, _ = given
    assert browser.report(message, "shown").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"event": "hovered"}, "event"), ({"event": None}, "event"), ({"message": "1" * 33}, "message")],
)
def test_bad_input_is_a_400_naming_the_field(given, fields, field):
    _, browser, message = given
    body = {"message": message, "event": "shown", **fields}
    response = browser.post("sdk-popups-report", body)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_another_sites_origin_is_refused(given):
    _, browser, message = given
    response = browser.post("sdk-popups-report", {"message": message, "event": "shown"}, origin="https://evil.example")
    assert response.status_code == 403


def test_the_stats_and_campaign_pages_count_shows_clicks_and_conversions(given, marketer):
    campaign, browser, message = given
    browser.report(message, "shown")
    browser.report(message, "clicked")
    profile = Profile.objects.get(devices__client_id=browser.client_id)
    event = Event.objects.create(profile=profile, name="Purchase", properties={}, occurred_at=NOW)
    credit_conversions(
        [{"id": event.pk, "name": "Purchase", "profile_id": profile.pk, "properties": {}, "occurred_at": NOW}]
    )
    do_roll_up()

    numbers = marketer.get(reverse("stats:campaign", args=[campaign.pk])).context["numbers"]
    assert (numbers.sent, numbers.viewed, numbers.clicked, numbers.ctr, numbers.conversions) == (1, 1, 1, 100, 1)
    assert numbers.closed == 0
    page = marketer.get(f"/campaigns/{campaign.pk}/")
    assert page.context["counts"].sent == 1
    listed = dict(reports.listed())
    assert listed[campaign].clicked == 1


def test_closes_are_counted_on_the_stats_page(given, marketer):
    campaign, browser, message = given
    browser.report(message, "closed")
    do_roll_up()
    numbers = marketer.get(reverse("stats:campaign", args=[campaign.pk])).context["numbers"]
    assert (numbers.viewed, numbers.clicked, numbers.closed) == (1, 0, 1)


def test_the_control_group_is_compared_as_for_push(site):
    campaign = make_popup(site, control_group_percent=100, goal_event="Purchase", goal_window_minutes=60)
    browser = Browser(site)
    assert browser.popups() == []
    profile = Profile.objects.get(devices__client_id=browser.client_id)
    event = Event.objects.create(profile=profile, name="Purchase", properties={}, occurred_at=NOW)
    credit_conversions(
        [{"id": event.pk, "name": "Purchase", "profile_id": profile.pk, "properties": {}, "occurred_at": NOW}]
    )

    comparison = reports.control(Campaign.objects.get(pk=campaign.pk))
    assert (comparison.control.profiles, comparison.control.converted) == (1, 1)


# Fuzzing, as tests/test_public_edge_fuzz.py does for the other SDK endpoints: 4xx, never 5xx.

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@pytest.fixture
def no_rate_limit(settings):
    settings.SDK_RATE_LIMIT = "1000000/m"  # a fuzz run is many calls from one address


def test_generated_report_bodies_never_get_a_server_error(given, no_rate_limit):
    _, browser, message = given
    names = st.sampled_from(["message", "event", "clientId", "siteKey", "browser", "unknown"])

    @FUZZ
    @hypothesis_given(fields=st.dictionaries(names, JSON_VALUES, min_size=1, max_size=3))
    def check(fields):
        response = browser.post("sdk-popups-report", {"message": message, "event": "shown", **fields})
        assert response.status_code < 500, (fields, response.content)

    check()


def test_raw_report_bodies_are_a_4xx(given, no_rate_limit):
    _, browser, _ = given

    @FUZZ
    @hypothesis_given(body=st.binary(max_size=200) | st.just(b'{"message": "1' + b"0" * 5000 + b'"}'))
    def check(body):
        response = browser.client.post(
            reverse("sdk-popups-report"), body, content_type="text/plain", headers={"Origin": ORIGIN}
        )
        assert 400 <= response.status_code < 500, (body[:100], response.content)

    check()


def test_the_summary_csv_counts_a_pop_ups_shows_clicks_and_closes(given, marketer):
    campaign, browser, message = given
    browser.report(message, "clicked")
    browser.report(message, "closed")
    do_roll_up()
    response = marketer.get(reverse("stats:csv", args=[campaign.pk, "summary"]))
    rows = dict(row.split(",", 1) for row in response.content.decode().splitlines()[1:])
    assert (rows["sent"], rows["viewed"], rows["clicked"], rows["closed"]) == ("1", "1", "1", "1")
