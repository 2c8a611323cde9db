"""Changing a campaign that is already out: a running campaign's What (confirmed first, a new
content version: unsent messages go out with the new text, sent ones keep the old, stats show
both versions), a paused campaign's limits, Stop that asks first, and Restore from the archive."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from accounts.models import AuditEntry
from campaigns.actions import lifecycle, runs
from campaigns.models import Campaign, CampaignRun, ContentVersion
from campaigns.tests.live import EventsApi, live_campaign, person
from campaigns.tests.scheduled import make_campaign
from delivery.actions.sending import resend, send_batch
from delivery.models import Dispatch, Message
from delivery.tests.engine import vapid_key, web_audience
from segments.models import Profile
from stats import reports
from stats.actions.tracking import do_record_engagement
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
OLD = {"title": "Spring sael", "body": "It is spring", "url": "https://shop.example/sale"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER)


def running_campaign(owner, service, people):
    """A one-time campaign whose run has queued a message for each of ``people`` subscribers."""
    vapid_key()
    subscribers = [subscriber for _, subscriber in web_audience(service, people)]
    campaign = make_campaign(owner, variants=[{"content": OLD}], status="scheduled", scheduled_at=NOW)
    run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)
    campaign.refresh_from_db()
    assert campaign.status == "running"
    return campaign, run, subscribers


def new_what(title):
    return {
        "message_type": "single",
        "browsers": "all",
        "variants": ["0"],
        "v0-title": title,
        "v0-body": "It is spring",
        "v0-url": "https://shop.example/sale",
    }


def what_url(campaign):
    return reverse("campaigns:what", args=[campaign.pk])


def test_a_running_campaigns_message_changes_after_a_confirmation_and_only_unsent_messages_take_it(
    marketer, owner, service
):
    campaign, run, subscribers = running_campaign(owner, service, 5)
    send_batch(run.dispatch_id, size=2)  # two go out with the typo

    asked = marketer.post(what_url(campaign), new_what("Spring sale"))

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "3</strong> messages already queued will be sent with the new text" in page
    assert "2</strong> already sent keep the old one" in page
    assert 'name="confirmed" value="yes"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert campaign.variants.get().content["title"] == "Spring sael"  # nothing changed yet

    done = marketer.post(what_url(campaign), {**new_what("Spring sale"), "confirmed": "yes"})

    assert done.status_code == 303
    assert done["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.variants.get().content["title"] == "Spring sale"
    send_batch(run.dispatch_id)
    titles = [service.payloads(subscriber)[0]["title"] for subscriber in subscribers]
    assert sorted(titles) == ["Spring sael"] * 2 + ["Spring sale"] * 3
    versions = dict(Message.objects.filter(dispatch=run.dispatch).values_list("device__endpoint", "version"))
    assert sorted(versions.values()) == [1, 1, 2, 2, 2]
    assert list(ContentVersion.objects.filter(campaign=campaign).values_list("number", "contents__A__title")) == [
        (1, "Spring sael"),
        (2, "Spring sale"),
    ]
    assert AuditEntry.objects.filter(verb="changed", detail__startswith="What: version 2").exists()


def test_stats_show_each_versions_sent_viewed_and_clicked(marketer, client_as, owner, service):
    campaign, run, _ = running_campaign(owner, service, 5)
    send_batch(run.dispatch_id, size=2)
    marketer.post(what_url(campaign), {**new_what("Spring sale"), "confirmed": "yes"})
    send_batch(run.dispatch_id)
    sent = list(Message.objects.filter(dispatch=run.dispatch).order_by("version", "pk"))
    for message in (sent[0], sent[2], sent[3]):
        do_record_engagement(message.pk, "viewed", NOW + timedelta(minutes=1))
    do_record_engagement(sent[2].pk, "clicked", NOW + timedelta(minutes=2))

    rows = reports.versions(campaign)

    assert [(row.number, row.sent, row.viewed, row.clicked) for row in rows] == [(1, 2, 1, 0), (2, 3, 2, 1)]
    page = client_as(roles.VIEWER).get(reverse("stats:campaign", args=[campaign.pk])).content.decode()
    assert 'id="versions"' in page
    assert '<tr data-version="2"><td>Version 2</td>' in page


def test_a_running_campaigns_variants_cannot_change_only_their_text(marketer, owner, service):
    campaign, _, _ = running_campaign(owner, service, 1)
    data = {
        **new_what("Spring sale"),
        "message_type": "ab",
        "ab_split": "split",
        "variants": ["0", "1"],
        "v0-share": "50",
        "v1-share": "50",
        "v1-title": "B",
        "v1-body": "B",
        "v1-url": "https://shop.example/b",
    }

    response = marketer.post(what_url(campaign), {**data, "confirmed": "yes"})

    assert response.status_code == 422
    assert "can change, but not the message type" in response.content.decode()
    assert campaign.variants.count() == 1


def test_a_paused_campaigns_limits_change_after_a_confirmation(marketer, owner):
    campaign = make_campaign(owner, status="paused", run_limit=500)
    url = reverse("campaigns:limits", args=[campaign.pk])
    data = {"reach_mode": "all", "run_limit": "120", "safety_limit": "", "daily_limit": "", "target_cap": ""}

    asked = marketer.post(url, data)

    assert asked.status_code == 200
    assert "apply from the next run" in asked.content.decode()
    campaign.refresh_from_db()
    assert campaign.run_limit == 500

    done = marketer.post(url, {**data, "confirmed": "yes"})

    assert done.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.run_limit, campaign.status) == (120, "paused")
    assert AuditEntry.objects.filter(verb="changed", detail="Who: run limit").exists()


def test_limits_out_of_range_are_refused_naming_the_field(marketer, owner):
    campaign = make_campaign(owner, status="paused")
    response = marketer.post(
        reverse("campaigns:limits", args=[campaign.pk]), {"reach_mode": "cap", "target_cap": "", "run_limit": "-3"}
    )
    assert response.status_code == 422
    assert 'id="target_cap-error"' in response.content.decode()
    assert 'id="run_limit-error"' in response.content.decode()


def test_changed_limits_follow_the_who_steps_rules(marketer, owner):
    # One set of rules (campaigns.forms.who.clean_limits): a run limit the safety check
    # would always stop first is refused here as in the Who step.
    campaign = make_campaign(owner, status="paused")
    data = {"reach_mode": "all", "run_limit": "500", "safety_limit": "100", "daily_limit": "", "target_cap": ""}
    response = marketer.post(reverse("campaigns:limits", args=[campaign.pk]), {**data, "confirmed": "yes"})
    assert response.status_code == 422
    assert "never applies" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.run_limit is None


def test_a_draft_has_no_confirmation_and_a_completed_campaign_cannot_change(marketer, owner):
    completed = make_campaign(owner, status="completed")
    response = marketer.post(what_url(completed), {**new_what("Late"), "confirmed": "yes"})
    assert response.status_code == 302
    assert completed.variants.get().content["title"] == "Hello from A"


def test_stop_without_its_confirmation_changes_nothing_and_with_it_stops(marketer, owner):
    campaign = make_campaign(owner, status="scheduled", next_run_at=NOW + timedelta(hours=1))
    url = reverse("campaigns:stop", args=[campaign.pk])

    asked = marketer.post(url)

    assert asked.status_code == 200
    assert 'id="confirm-stop"' in asked.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    assert not AuditEntry.objects.filter(verb="stopped").exists()

    done = marketer.post(url, {"confirmed": "yes"})

    assert done.status_code == 303
    campaign.refresh_from_db()
    assert campaign.status == "stopped"


def test_archive_then_restore_returns_the_campaign_to_the_list_in_its_status_with_audit_entries(marketer, owner):
    campaign = make_campaign(owner, status="stopped")
    marketer.post(reverse("campaigns:archive", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.archived_at is not None
    page = marketer.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert reverse("campaigns:restore", args=[campaign.pk]) in page
    listed = marketer.get(reverse("campaigns:list") + "?archived=on").content.decode()
    assert reverse("campaigns:restore", args=[campaign.pk]) in listed

    response = marketer.post(reverse("campaigns:restore", args=[campaign.pk]))

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.archived_at, campaign.status) == (None, "stopped")
    details = list(AuditEntry.objects.filter(object_id=campaign.pk).values_list("verb", "detail"))
    assert ("archived", "hidden from the list (status stopped)") in details
    assert ("changed", "restored from the archive (status stopped)") in details


def test_restore_is_refused_for_a_campaign_that_is_not_archived(owner):
    campaign = make_campaign(owner, status="draft")
    with pytest.raises(lifecycle.LifecycleError, match="not archived"):
        lifecycle.do_restore(campaign, user=owner)
    assert not lifecycle.allowed(campaign, "restore")
    assert Campaign.objects.get(pk=campaign.pk).archived_at is None


def test_a_test_send_of_a_running_campaign_sends_the_typed_text_and_changes_nothing(marketer, owner, service):
    campaign, run, _ = running_campaign(owner, service, 1)
    tester = web_audience(service, 1, name="Tess Tester")
    Profile.objects.filter(pk=tester[0][0].profile_id).update(is_test=True)
    data = {**new_what("Spring sale (fixed)"), "test_profiles": [str(tester[0][0].profile_id)]}

    response = marketer.post(reverse("campaigns:what_test", args=[campaign.pk]), data)

    assert response.status_code == 200
    assert 'value="Spring sale (fixed)"' in response.content.decode()  # still typed, not confirmed
    send_batch(campaign.test_sends.get().dispatch_id)
    assert service.payloads(tester[0][1])[0]["title"] == "Spring sale (fixed)"
    assert campaign.variants.get().content["title"] == "Spring sael"
    assert Dispatch.objects.get(pk=run.dispatch_id).contents["A"]["title"] == "Spring sael"
    assert not ContentVersion.objects.filter(campaign=campaign).exists()


def test_a_one_time_campaign_that_has_run_cannot_change_its_send_time(marketer, owner, service):
    campaign, _, _ = running_campaign(owner, service, 1)

    response = marketer.post(
        reverse("campaigns:when", args=[campaign.pk]), {"timezone": "UTC", "send_at": "2026-06-01T09:00"}
    )

    assert response.status_code == 422
    assert "has already run: its one send time cannot change" in response.content.decode()
    assert 'name="confirmed"' not in response.content.decode()


def test_the_campaign_page_offers_the_changes_while_it_is_out_and_the_wizard_says_they_are_confirmed(marketer, owner):
    campaign = make_campaign(owner, status="paused", send_at=NOW + timedelta(days=1))
    page = marketer.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    for name in ("what", "when", "limits"):
        assert f'href="{reverse(f"campaigns:{name}", args=[campaign.pk])}"' in page
    what = marketer.get(what_url(campaign))
    assert what.status_code == 200
    assert 'id="changing-note"' in what.content.decode()


def test_push_amplification_resends_only_messages_whose_text_is_still_the_dispatchs(marketer, owner, service):
    campaign, run, _ = running_campaign(owner, service, 2)
    send_batch(run.dispatch_id, size=1)
    marketer.post(what_url(campaign), {**new_what("Spring sale"), "confirmed": "yes"})
    send_batch(run.dispatch_id)
    old, new = Message.objects.filter(dispatch=run.dispatch).order_by("version")

    assert resend([old.pk]) == 0  # its text is no longer in the dispatch: not shown a text it never had
    assert resend([new.pk]) == 1


def test_a_live_campaigns_changed_message_goes_to_the_next_trigger_as_the_new_version(marketer, client):
    campaign = live_campaign()
    person("ada")
    person("bob")
    api = EventsApi(client)
    api.post([{"identity": "ada", "name": "Added To Cart"}])
    data = {"message_type": "single", "browsers": "all", "variants": ["0"], "v0-title": "Your cart, Ada?"}
    data |= {"v0-body": "It misses you", "v0-url": "https://shop.example/cart", "confirmed": "yes"}

    assert marketer.post(what_url(campaign), data).status_code == 303
    api.post([{"identity": "bob", "name": "Added To Cart"}])

    first, second = CampaignRun.objects.filter(campaign=campaign).order_by("planned_at")
    assert (first.dispatch.version, first.dispatch.contents["A"]["title"]) == (2, "Your cart, Ada?")  # unsent: took it
    assert (second.dispatch.version, second.dispatch.contents["A"]["title"]) == (2, "Your cart, Ada?")
    assert ContentVersion.objects.get(campaign=campaign, number=1).contents["A"]["title"] == "Hello from A"
