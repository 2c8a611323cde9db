"""POST /api/v1/engagement: an app reports its pushes rendered, viewed and clicked by
message id; each counts once, unknown ids are that item's error, bad input a 400 naming
it, never a 5xx; the stats read what it recorded and an A/B test picks its winner by it."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import roles
from campaigns.actions import ab, runs
from campaigns.models import CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Message
from segments.actions.keys import create_api_key
from stats import exports, reports
from stats.actions.events import do_track_events
from stats.actions.rollup import do_roll_up
from stats.tests import factory as f

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(client, db):
    _, full = create_api_key("app", rate_per_minute=1_000_000)

    def call(body, *, token=full):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.post("/api/v1/engagement", data, content_type="application/json", headers=headers)

    return call


@pytest.fixture
def sent(clock):
    """A sent message of a mobile campaign's run."""
    campaign = f.campaign()
    campaign.channel = "mobile_push"
    campaign.save(update_fields=["channel"])
    return f.message(f.run(campaign))


def times(message):
    message.refresh_from_db()
    return message.rendered_at, message.viewed_at, message.clicked_at


def test_rendered_records_an_impression_only(api, sent):
    at = NOW - timedelta(minutes=5)
    response = api({"reports": [{"message_id": sent.pk, "kind": "rendered", "at": at.isoformat()}]})
    assert response.status_code == 200
    assert response.json() == {
        "recorded": 1,
        "already_recorded": 0,
        "unknown": 0,
        "results": [{"index": 0, "message_id": sent.pk, "kind": "rendered", "status": "recorded"}],
    }
    assert times(sent) == (at, None, None)


def test_viewed_implies_rendered_and_keeps_an_earlier_impression(api, sent):
    shown, seen = NOW - timedelta(minutes=9), NOW - timedelta(minutes=2)
    api({"reports": [{"message_id": sent.pk, "kind": "rendered", "at": shown.isoformat()}]})
    response = api({"reports": [{"message_id": str(sent.pk), "kind": "viewed", "at": seen.isoformat()}]})
    assert response.json()["results"][0]["status"] == "recorded"
    assert times(sent) == (shown, seen, None)


def test_clicked_implies_viewed_and_rendered_and_a_missing_time_is_now(api, sent):
    response = api({"reports": [{"message_id": sent.pk, "kind": "clicked"}]})
    assert response.json()["recorded"] == 1
    assert times(sent) == (NOW, NOW, NOW)


def test_a_repeated_report_counts_once_in_one_batch_and_across_batches(api, sent):
    first, later = NOW - timedelta(minutes=3), NOW - timedelta(minutes=1)
    batch = [
        {"message_id": sent.pk, "kind": "clicked", "at": later.isoformat()},
        {"message_id": sent.pk, "kind": "clicked", "at": first.isoformat()},
    ]
    body = api({"reports": batch}).json()
    assert [item["status"] for item in body["results"]] == ["recorded", "already_recorded"]
    assert times(sent) == (first, first, first)  # the earliest of the batch, as if in time order
    again = api({"reports": [*batch, {"message_id": sent.pk, "kind": "rendered"}]}).json()
    assert (again["recorded"], again["already_recorded"]) == (0, 3)
    assert times(sent) == (first, first, first)


def test_a_time_before_the_message_was_sent_is_taken_as_when_it_was_sent(api, sent):
    api({"reports": [{"message_id": sent.pk, "kind": "viewed", "at": "1971-01-01T00:00:00Z"}]})
    assert times(sent) == (sent.sent_at, sent.sent_at, None)


def test_an_unknown_message_is_an_error_of_its_item_only(api, sent):
    response = api(
        {"reports": [{"message_id": 987654321, "kind": "viewed"}, {"message_id": sent.pk, "kind": "viewed"}]}
    )
    assert response.status_code == 200
    body = response.json()
    assert [item["status"] for item in body["results"]] == ["unknown_message", "recorded"]
    assert (body["recorded"], body["unknown"]) == (1, 1)
    assert times(sent) == (NOW, NOW, None)


def test_a_batch_holds_one_to_a_thousand_reports(api, sent):
    empty = api({"reports": []})
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["field"] == "reports"
    too_many = api({"reports": [{"message_id": sent.pk, "kind": "viewed"}] * 1001})
    assert too_many.status_code == 400
    assert times(sent) == (None, None, None)
    full = api({"reports": [{"message_id": sent.pk, "kind": "viewed"}] * 1000})
    assert full.status_code == 200
    assert (full.json()["recorded"], full.json()["already_recorded"]) == (1, 999)


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ({"message_id": 1, "kind": "opened"}, "kind"),
        ({"message_id": 1, "kind": "view\x00ed"}, "kind"),
        ({"message_id": True, "kind": "viewed"}, "message_id"),
        ({"message_id": "abc", "kind": "viewed"}, "message_id"),
        ({"message_id": 0, "kind": "viewed"}, "message_id"),
        ({"message_id": 2**63, "kind": "viewed"}, "message_id"),
        ({"message_id": 1.5, "kind": "viewed"}, "message_id"),
        ({"message_id": 1, "kind": "viewed", "at": "2026-03-04T12:00:00Z"}, "at"),
        ({"message_id": 1, "kind": "viewed", "at": "1969-12-31T23:59:59Z"}, "at"),
        ({"message_id": 1, "kind": "viewed", "at": "yesterday"}, "at"),
        ({"message_id": 1, "kind": "viewed", "action": "open"}, "action"),
        ({"kind": "viewed"}, "message_id"),
    ],
)
def test_a_wrong_value_is_a_400_naming_its_item_and_field(api, clock, report, field):
    response = api({"reports": [{"message_id": 1, "kind": "viewed"}, report]})
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, field)


def test_it_needs_an_api_key(api, sent):
    assert api({"reports": [{"message_id": sent.pk, "kind": "viewed"}]}, token=None).status_code == 401
    assert times(sent) == (None, None, None)


def test_it_is_in_the_openapi_document(client):
    operation = client.get("/api/openapi.json").json()["paths"]["/api/v1/engagement"]["post"]
    assert operation["summary"] == "Report up to 1,000 pushes rendered, viewed or clicked on the device"
    assert operation["security"]  # an API key, as every /api/v1 call


REPORT_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.dictionaries(st.sampled_from(["message_id", "kind", "at", "unknown"]), REPORT_VALUES, max_size=3),
    wrapper=st.sampled_from(["reports", "report", None]),
)
def test_generated_reports_are_answered_without_a_server_error(api, sent, fields, wrapper):
    report = {"message_id": sent.pk, "kind": "viewed", **fields}
    body = {wrapper: [report]} if wrapper else [report]
    assert api(body).status_code < 500


def test_the_stats_and_the_csv_show_rendered_next_to_viewed_and_clicked(api, sent, client, make_user):
    run = CampaignRun.objects.get(dispatch=sent.dispatch)
    other = f.message(run)
    api({"reports": [{"message_id": sent.pk, "kind": "rendered"}, {"message_id": other.pk, "kind": "clicked"}]})
    do_roll_up()
    numbers = reports.totals(run.campaign)
    assert (numbers.sent, numbers.rendered, numbers.viewed, numbers.clicked) == (2, 2, 1, 1)
    assert ["rendered", 2] in list(exports.rows(run.campaign, None, "day", "summary"))
    assert list(exports.rows(run.campaign, None, "day", "trend"))[1][1:] == [2, 2, 1, 1]
    client.force_login(make_user(roles.VIEWER))
    page = client.get(f"/stats/campaigns/{run.campaign.pk}/").content.decode()
    assert 'data-count="rendered"' in page
    assert 'href="/stats/glossary/#rendered"' in page
    assert 'data-count="rendered" title="Rendered:' in client.get("/stats/").content.decode()
    assert 'id="rendered"' in client.get("/stats/glossary/").content.decode()


def test_an_apps_notification_rendered_event_counts_as_an_impression(sent):
    event = f.event(sent.profile, "Notification Rendered", NOW, message_id=sent.pk)
    do_track_events([event.pk])
    assert times(sent) == (NOW, None, None)


def test_a_mobile_ab_tests_winner_is_picked_from_the_clicks_the_app_reported(api, make_user):
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        audience(30, platform="android")
        campaign = make_campaign(
            make_user(roles.MARKETER),
            channel="mobile_push",
            message_type="ab",
            ab_mode="count",
            ab_test_size=10,
            ab_test_minutes=240,
            variants=[{}, {}],
            status="scheduled",
        )
        run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=start).pk)
        tested = run.dispatch.messages
        tested.update(status=Message.Status.SENT, sent_at=start)
        b_ids = list(tested.filter(variant="B").values_list("pk", flat=True)[:2])
        a_id = tested.filter(variant="A").values_list("pk", flat=True)[0]
        clock.move_to(start + timedelta(hours=1))
        reports_ = [{"message_id": pk, "kind": "clicked"} for pk in b_ids] + [{"message_id": a_id, "kind": "viewed"}]
        assert api({"reports": reports_}).json()["recorded"] == 3
        clock.move_to(start + timedelta(hours=4))
        [finished] = ab.do_finish_ab_tests()
    assert finished.winner == "B"
    assert "A: 0, B: 2" in finished.note
