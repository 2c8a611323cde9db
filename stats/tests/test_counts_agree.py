"""One campaign run through the real pipeline (a control group, a target cap, DND discards, a
throttle hold, push services that refuse) and every page that shows its numbers: the list,
the campaign page and its run rows, the stats page, the CSV export, the safety-check email
and the home page must say the same number for each count (issue 14, "One vocabulary").

Pages are read by their ``data-count`` attributes, not by their wording."""

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts import roles
from campaigns.actions import runs
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import make_campaign
from delivery.actions import sending
from delivery.models import DeliverySettings, Message
from delivery.tests.engine import vapid_key, web_audience
from stats.actions.rollup import do_roll_up
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo: inside DND 21:00-09:00


class Counts(HTMLParser):
    """{data-count: number} of the elements inside the element whose id is ``scope``."""

    def __init__(self, html, scope):
        super().__init__()
        self.scope, self.depth, self.found, self.reading = scope, 0, {}, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += 1
        elif attrs.get("id") == self.scope:
            self.depth = 1
        if self.depth and "data-count" in attrs:
            self.reading = [attrs["data-count"], ""]

    def handle_endtag(self, tag):
        if self.reading:
            name, text = self.reading
            self.found[name] = int(re.sub(r"[^\d]", "", text))
            self.reading = None
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.reading:
            self.reading[1] += data


def counts_in(response, scope):
    assert response.status_code == 200
    found = Counts(response.content.decode(), scope).found
    assert found, f"no data-count inside #{scope}"
    return found


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def campaign(make_user, service):
    cache.clear()  # the throttle's interval count lives in the cache
    vapid_key()
    DeliverySettings.objects.update_or_create(pk=1, defaults={"throttle_per_15_min": 12})
    here = web_audience(service, 30)
    tokyo = web_audience(service, 10, timezone="Asia/Tokyo")
    # Half of them unsubscribed (a 410: a technical failure). The throttle lets the first 12
    # claimed rows go, in no set order, so the first batch must hold a refused device and an
    # accepted one whichever 12 they are: with 6 refused of 30 it held none about once in a
    # hundred runs (CI); with half, both kinds nearly always outnumber the rows it holds back.
    for _device, subscriber in here[::2]:
        service.answer(subscriber, 410)
    owner = make_user(roles.MARKETER, email="owner@example.com")
    campaign = make_campaign(
        owner,
        status=Campaign.Status.SCHEDULED,
        control_group_percent=10,
        reach_mode=Campaign.ReachMode.CAP,
        target_cap=30,
        dnd_enabled=True,
        dnd_start=time(21),
        dnd_end=time(9),
        dnd_action=Campaign.DndAction.DISCARD,
    )
    campaign.devices = [device for device, _ in here + tokyo]
    return campaign


def run_it(campaign, django_capture_on_commit_callbacks):
    """The first run sends one batch (the throttle holds the rest); a second, an hour
    later, is stopped by the safety check and its owner emailed."""
    with time_machine.travel(NOW, tick=False):
        first = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)
        sending.send_batch(first.dispatch_id)
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        Campaign.objects.filter(pk=campaign.pk).update(safety_limit=5)
        with django_capture_on_commit_callbacks(execute=True):
            second = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=later).pk)
        do_roll_up()
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second


def test_every_page_shows_the_same_number_for_each_count(client, campaign, django_capture_on_commit_callbacks):
    first, second = run_it(campaign, django_capture_on_commit_callbacks)
    statuses = Message.objects.filter(dispatch=first.dispatch)
    truth = {
        "reachable": 40,
        "held_out": 4,
        "capped": 6,
        "targeted": statuses.count(),
        "sent": statuses.filter(status="sent").count(),
        "failed": statuses.filter(status="failed").count(),
        "not_sent": statuses.filter(status="dropped").count(),
        "waiting": statuses.filter(status__in=["queued", "sending", "held"]).count(),
    }
    # The scenario has each kind: failures, DND discards and a throttle hold.
    assert truth["targeted"] == 30
    assert min(truth["failed"], truth["not_sent"], truth["waiting"], truth["sent"]) > 0
    assert statuses.filter(code="dnd_discarded").count() == truth["not_sent"]
    assert truth["sent"] + truth["failed"] + truth["not_sent"] + truth["waiting"] == truth["targeted"]
    assert second.status == "stopped"

    client.force_login(campaign.owner)
    with time_machine.travel(NOW + timedelta(hours=1, minutes=5), tick=False):
        pages = {
            "list": counts_in(client.get(reverse("campaigns:list")), f"campaign-{campaign.pk}"),
            "campaign page": counts_in(client.get(reverse("campaigns:detail", args=[campaign.pk])), "campaign-counts"),
            "stats page": counts_in(client.get(reverse("stats:campaign", args=[campaign.pk])), "numbers"),
            "csv export": csv_counts(client, campaign),
        }
        detail = client.get(reverse("campaigns:detail", args=[campaign.pk]))
        run_row = counts_in(detail, f"run-{first.pk}")
        run_stats = counts_in(client.get(reverse("stats:campaign", args=[campaign.pk]), {"run": first.pk}), "numbers")
        safety_row = counts_in(detail, f"run-{second.pk}")
        home = counts_in(client.get(reverse("home")), "home-figures")

    # A 410 retires its device, so the second run reaches that many fewer.
    assert safety_row["reachable"] == 40 - truth["failed"]
    # The whole campaign: both runs' reachable people, the first run's messages.
    whole = truth | {"reachable": 40 + safety_row["reachable"]}
    for page, shown in pages.items():
        for name, number in shown.items():
            if name in whole:
                assert number == whole[name], f"{page} says {name} {number}, not {whole[name]}"
    for name in whole:
        assert pages["campaign page"].get(name) == whole[name], name
        assert pages["stats page"].get(name) == whole[name], name
        assert pages["csv export"].get(name) == whole[name], name
    assert pages["list"]["sent"] == truth["sent"]
    for name in truth:
        assert run_row.get(name) == truth[name], f"run row: {name}"
        assert run_stats.get(name) == truth[name], f"stats of the run: {name}"
    assert home["sent"] == truth["sent"]  # everything was sent today

    [email] = mail.outbox
    assert re.search(r"^Reachable: (\d+)", email.body, re.MULTILINE).group(1) == str(safety_row["reachable"])


def csv_counts(client, campaign):
    response = client.get(reverse("stats:csv", args=[campaign.pk, "summary"]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    return {metric: int(value) for metric, value in rows[1:] if value.isdigit()}
