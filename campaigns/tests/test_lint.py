"""The personalisation lint (campaigns/actions/lint.py): each kind of finding on a real audience, the
"Send anyway" gate of Schedule, and the Overview page that shows them."""

import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import pytest
import time_machine

from accounts import roles
from accounts.models import AuditEntry
from campaigns.actions import lifecycle, lint
from campaigns.models import Campaign
from campaigns.tests.scheduled import audience, make_campaign
from delivery.tests.test_linked import Handler
from segments.models import Event, Profile

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LONG_TITLE = "A title long enough to be cut on every screen we know of, and then some"  # 72 characters


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER)


def campaign_with(owner, content, **fields):
    values = {"send_at": NOW + timedelta(days=1), "timezone": "Europe/Paris"}
    return make_campaign(owner, variants=[{"content": content}], **(values | fields))


def only(report, kind):
    found = [finding for finding in report.findings if finding.kind == kind]
    assert found, f"no {kind} finding in {report.findings}"
    return found


def test_a_variable_that_renders_empty_is_counted_with_three_example_people(owner):
    audience(2, name="Ann Lee")
    nameless = audience(4)
    campaign = campaign_with(owner, {"title": "Hi {{ profile.first_name }},", "body": "Spring is here"})

    report = lint.lint(campaign)

    assert report.sampled == 6
    [finding] = only(report, lint.Kind.EMPTY)
    assert (finding.field, finding.people) == ("title", 4)
    assert "{{ profile.first_name }}" in finding.message
    assert len(finding.examples) == 3
    example = finding.examples[0]
    assert example.shown == "Hi ,"
    assert example.profile_id in {profile.pk for profile in nameless}
    assert example.url == f"/audience/profiles/{example.profile_id}/"
    assert finding.fix_url == f"/campaigns/{campaign.pk}/what/#id_v0-title"


def test_a_default_or_a_condition_is_not_an_empty_variable(owner):
    audience(3)
    content = {
        "title": 'Hi {{ profile.first_name | default: "there" }}',
        "body": "{% if profile.city %}In {{ profile.city }}?{% endif %} Come by",
    }
    assert not lint.lint(campaign_with(owner, content))


def test_text_longer_than_a_surface_shows_is_counted_per_surface_and_person(owner):
    audience(2, name="Jo")
    audience(3, name="Maximilian Alexander Fitzgerald-Worthington the Third")
    campaign = campaign_with(owner, {"title": "Welcome back, {{ profile.name }}", "body": "Spring is here"})

    report = lint.lint(campaign)

    cut = {finding.message: finding for finding in only(report, lint.Kind.TRUNCATED)}
    windows = cut[
        "The title is cut after 60 characters on Chrome on Windows, Edge on Windows, Firefox (Windows, macOS)."
    ]
    assert (windows.field, windows.people) == ("title", 3)
    assert windows.examples[0].shown.startswith("Welcome back, Maximilian")
    narrow = "Chrome on macOS, Chrome on Android, Safari on macOS, Safari on iOS (web app on the home screen)"
    assert f"The title is cut after 40 characters on {narrow}." in cut
    assert len(cut) == 2
    assert not lint.lint(campaign_with(owner, {"title": "Welcome back", "body": "Spring is here"})).findings


def test_a_push_over_4_kb_is_counted(owner):
    audience(2, properties={"note": "short"})
    audience(1, properties={"note": "x" * 4100})
    campaign = campaign_with(owner, {"title": "News", "body": "{{ profile.note }}"})

    report = lint.lint(campaign)

    [finding] = only(report, lint.Kind.TOO_BIG)
    assert finding.people == 1
    assert "Web Push (encrypted) would be over 4,096 bytes" in finding.message
    assert finding.examples[0].shown.endswith(" bytes")


def test_a_mobile_push_over_4_kb_is_counted_for_apns_and_fcm(owner):
    audience(2, platform="ios", properties={"note": "x" * 4100})
    campaign = campaign_with(
        owner,
        {"title": "News", "body": "{{ profile.note }}"},
        channel=Campaign.Channel.MOBILE_PUSH,
        platforms=["android", "ios"],
    )

    messages = {finding.message: finding.people for finding in only(lint.lint(campaign), lint.Kind.TOO_BIG)}

    assert messages == {
        "Android (FCM) would be over 4,096 bytes: the push service refuses it.": 2,
        "iOS (APNs) would be over 4,096 bytes: the push service refuses it.": 2,
    }


def test_a_liquid_error_at_render_time_is_counted(owner):
    audience(2, properties={"visits": 4})
    audience(3, properties={"visits": 0})
    campaign = campaign_with(owner, {"title": "Stats", "body": "{{ 100 | divided_by: profile.visits }} % of you"})

    report = lint.lint(campaign)

    [finding] = only(report, lint.Kind.LIQUID)
    assert (finding.field, finding.people) == ("body", 3)
    assert "divide by 0" in finding.examples[0].shown


@pytest.fixture
def linked_server(settings):
    """delivery/tests/test_linked.py's local JSON server, reached through the test settings."""
    settings.LINKED_CONTENT_ALLOW_HTTP = True
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_a_linked_content_failure_is_counted_and_fetched_once(owner, linked_server):
    audience(4)
    content = {
        "title": "Weather in {{ linked.weather.city }}",
        "body": "Take a coat",
        "linked": [{"name": "weather", "url": f"{linked_server}/missing"}],
    }

    report = lint.lint(campaign_with(owner, content))

    [finding] = only(report, lint.Kind.LINKED)
    assert finding.people == 4
    assert "answered HTTP 404" in finding.examples[0].shown
    assert finding.fix_url.endswith("/what/#id_v0-linked1_url")

    content["linked"][0]["url"] = f"{linked_server}/weather"
    assert not lint.lint(campaign_with(owner, content))


def test_a_live_campaign_samples_people_who_did_its_trigger_with_their_latest_event(owner):
    did, other = audience(2), audience(3)
    for person in did:
        Event.objects.create(
            profile=person, name="Added To Cart", properties={"product": ""}, occurred_at=NOW - timedelta(days=2)
        )
    Event.objects.create(profile=did[0], name="Added To Cart", properties={"product": "Trail shoes"}, occurred_at=NOW)
    Event.objects.create(profile=other[0], name="Purchased", properties={}, occurred_at=NOW)
    campaign = campaign_with(
        owner,
        {"title": '{{ event.product | default: "" }} is still in your cart', "body": "Come back"},
        kind=Campaign.Kind.SINGLE_ACTION,
        trigger_event="Added To Cart",
        segment=None,
    )

    report = lint.lint(campaign)

    assert report.sampled == 2
    [finding] = report.findings
    assert (finding.kind, finding.people) == (lint.Kind.EMPTY, 1)
    assert [example.profile_id for example in finding.examples] == [did[1].pk]
    assert finding.examples[0].shown == " is still in your cart"


def test_the_sample_is_at_most_its_size(owner):
    audience(7)
    campaign = campaign_with(owner, {"title": "Hi {{ profile.first_name }}", "body": "Spring"})
    report = lint.lint(campaign, size=5)
    assert report.sampled == 5
    assert only(report, lint.Kind.EMPTY)[0].people == 5


def test_a_sample_is_drawn_from_an_audience_sparse_in_the_id_range(owner):
    few = audience(3, properties={"tier": "gold"})
    audience(20)
    far = Profile.objects.create(pk=few[0].pk + 10_000_000, identity="far", properties={"tier": "gold"})
    gold = Profile.objects.filter(properties__tier="gold")

    assert sorted(lint.sample_ids(gold, 5)) == sorted([*(p.pk for p in few), far.pk])
    drawn = lint.sample_ids(gold, 2)
    assert len(set(drawn)) == 2 and set(drawn) <= {*(p.pk for p in few), far.pk}


def test_every_variant_is_checked_and_named(owner):
    audience(2)
    campaign = make_campaign(
        owner,
        variants=[
            {"content": {"title": "Hello", "body": "Spring"}},
            {
                "content": {
                    "title": "Hello",
                    "body": "Spring",
                    "buttons": [{"title": "{{ profile.city }}", "url": "https://a.example"}],
                }
            },
        ],
        message_type=Campaign.MessageType.AB,
    )
    [finding] = lint.lint(campaign).findings
    assert (finding.variant, finding.field, finding.kind) == ("B", "buttons.0.title", lint.Kind.EMPTY)
    assert finding.fix_url.endswith("/what/#id_v1-button1_title")


# --- the gate -------------------------------------------------------------------------------


def test_schedule_is_refused_without_send_anyway_and_accepted_with_it(owner):
    audience(3)
    campaign = campaign_with(owner, {"title": "Hi {{ profile.first_name }},", "body": "Spring"})

    with pytest.raises(lifecycle.NeedsSendAnyway) as refusal:
        lifecycle.do_schedule(campaign, user=owner)
    assert refusal.value.report.findings[0].people == 3
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    lifecycle.do_schedule(campaign, user=owner, send_anyway=True)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    entry = AuditEntry.objects.get(object_id=campaign.pk, verb=AuditEntry.Verb.SCHEDULED)
    assert (
        "sent anyway past the personalisation check (3 sampled: empty title ({{ profile.first_name }}): 3)"
        in entry.detail
    )


def test_a_campaign_without_findings_schedules_without_the_box(owner):
    audience(3, name="Ann Lee")
    campaign = campaign_with(owner, {"title": "Hi {{ profile.first_name }},", "body": "Spring"})
    lifecycle.do_schedule(campaign, user=owner)
    entry = AuditEntry.objects.get(object_id=campaign.pk, verb=AuditEntry.Verb.SCHEDULED)
    assert "sent anyway" not in entry.detail


def overview(campaign):
    return f"/campaigns/{campaign.pk}/overview/"


def test_overview_refuses_schedule_at_the_send_anyway_box_then_accepts_it(marketer, owner):
    audience(3)
    campaign = campaign_with(owner, {"title": "Hi {{ profile.first_name }},", "body": "Spring"})

    response = marketer.post(overview(campaign), {})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_send_anyway" aria-invalid="true" aria-describedby="id_send_anyway_error"' in page
    assert '<p class="error" id="id_send_anyway_error">The personalisation check found 1 problem' in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    response = marketer.post(overview(campaign), {"send_anyway": "1"})
    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED


def test_overview_shows_findings_with_escaped_examples_and_links(marketer, owner):
    [person] = audience(1, name="<script>alert(1)</script> Bartholomew-Featherstonehaugh")
    Profile.objects.filter(pk=person.pk).update(identity="<b>vip</b>")
    campaign = campaign_with(owner, {"title": "Welcome back, {{ profile.name }}", "body": "Spring"})

    page = marketer.get(overview(campaign)).content.decode()

    assert "Personalisation check" in page
    assert "Each message rendered for 1 person of the audience" in page
    assert "<script>alert(1)" not in page and "<b>vip</b>" not in page
    assert "Welcome back, &lt;script&gt;alert(1)&lt;/script&gt; Bartholomew" in page
    assert f'<a href="/audience/profiles/{person.pk}/">&lt;b&gt;vip&lt;/b&gt;</a>' in page
    assert f'href="/campaigns/{campaign.pk}/what/#id_v0-title">Fix it in What</a>' in page
    assert 'name="send_anyway"' in page


def test_overview_says_when_nothing_was_found(marketer, owner):
    audience(2)
    campaign = campaign_with(owner, {"title": "Hello", "body": "Spring"})
    page = marketer.get(overview(campaign)).content.decode()
    assert "Nothing found" in page
    assert 'name="send_anyway"' not in page
