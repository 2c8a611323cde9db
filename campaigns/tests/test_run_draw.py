"""A run's draw (``campaigns.allocation.Draw``) has one rule in two forms: PostgreSQL ranks and
writes a run's audience in SQL, without bringing it into Python (issue 15: a run of a million
profiles), and the embedded SQLite mode pages it through Python. Here both forms meet the
same seeded audience and must give every person the same outcome: held out, over the cap,
kept for the A/B winner, or which variant, and when."""

import hashlib
import random
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from campaigns import allocation
from campaigns.actions import runs
from campaigns.models import Campaign, CampaignRun, ControlMember
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Message
from segments.models import Device, Profile

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SEED = "clarion-run-test"

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL form is PostgreSQL's")

ZONES = ["", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Mars/Olympus"]
TIERS = [" GOLD ", "gold", "STRASSE", "Straße", "silver", 7, True, None]

CAMPAIGNS = {
    "control, cap and an A/B test": {
        "control_group_percent": 15,
        "reach_mode": "cap",
        "target_cap": 150,
        "message_type": Campaign.MessageType.AB,
        "ab_test_size": 30,
        "variants": [{}, {}, {}],
    },
    "split shares and a run limit": {
        "run_limit": 170,
        "message_type": Campaign.MessageType.AB,
        "variants": [{"share": 50}, {"share": 30}, {"share": 20}],
    },
    "too few for a test: equal variants": {
        "message_type": Campaign.MessageType.AB,
        "ab_mode": Campaign.AbMode.COUNT,
        "ab_test_size": 1,
        "variants": [{}, {}],
    },
    "one message per property value, in each person's time zone": {
        "control_group_percent": 10,
        "user_timezone": True,
        "message_type": Campaign.MessageType.BY_PROPERTY,
        "property_name": "tier",
        "variants": [
            {"name": "Gold", "property_value": "gold"},
            {"name": "Street", "property_value": "Straße"},
            {"name": "Seven", "property_value": "7"},
            {"name": "Others", "is_fallback": True},
        ],
    },
    "by a profile field without a fallback": {
        "message_type": Campaign.MessageType.BY_PROPERTY,
        "property_name": "language",
        "variants": [{"name": "French", "property_value": "FR"}, {"name": "German", "property_value": "de"}],
    },
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def seeded_audience(count=200):
    """``count`` people in mixed zones, tiers and languages; some with two devices, some
    with a language property of their own, some unreachable."""
    rng = random.Random(15)  # noqa: S311 (test data)
    people = audience(count)
    for profile in people:
        profile.timezone = rng.choice(ZONES)
        profile.language = rng.choice(["fr", "DE", "en", ""])
        profile.properties = {"tier": rng.choice(TIERS)} if rng.random() < 0.8 else {}
        if rng.random() < 0.1:
            profile.properties["language"] = "de"
    Profile.objects.bulk_update(people, ["timezone", "language", "properties"])
    for profile in rng.sample(people, count // 10):
        Device.objects.create(profile=profile, platform="web", endpoint=f"https://push.example/2nd/{profile.pk}")
    Device.objects.filter(profile__in=rng.sample(people, count // 20)).update(push_status="blocked")
    return people


def started(campaign, monkeypatch):
    monkeypatch.setattr(runs, "draw_seed", lambda run: SEED)  # both ways draw with one seed
    campaign.status = "scheduled"
    campaign.save()
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW)
    return runs.do_start_run(run.pk)


def outcome(run):
    """Each person's outcome: held out, or their messages (dispatch, device, variant, release)."""
    held_out = set(ControlMember.objects.filter(run=run).values_list("profile_id", flat=True))
    messages = Message.objects.filter(dispatch__in=[run.dispatch_id, run.remainder_id])
    rows = messages.values_list("profile_id", "dispatch_id", "device_id", "variant", "status", "not_before")
    sent = {(p, "remainder" if d == run.remainder_id else "run", *rest) for p, d, *rest in rows}
    return held_out, sent, (run.qualified, run.targeted)


@postgresql_only
@pytest.mark.parametrize("name", CAMPAIGNS)
def test_a_run_written_by_the_database_is_the_run_python_would_write(owner, monkeypatch, name):
    seeded_audience()
    fields = dict(CAMPAIGNS[name])
    in_sql = outcome(started(make_campaign(owner, timezone="Europe/Paris", **fields), monkeypatch))

    monkeypatch.setattr(runs, "InDatabase", runs.Writer)  # the embedded mode's way
    in_python = outcome(started(make_campaign(owner, timezone="Europe/Paris", **fields), monkeypatch))

    assert in_sql == in_python
    held_out, sent, (qualified, targeted) = in_sql
    assert len({row[0] for row in sent}) == targeted
    assert len(held_out) == qualified * fields.get("control_group_percent", 0) // 100
    assert len({row[3] for row in sent}) > 1  # more than one variant (or the remainder's "")
    if fields.get("user_timezone"):
        # Held where 11:00 is still ahead (New York), queued where it has passed.
        assert {row[4] for row in sent} == {"held", "queued"}
    if fields.get("property_name") == "tier":
        assert {row[3] for row in sent} == {"Gold", "Street", "Seven", "Others"}


@postgresql_only
def test_the_database_and_python_rank_and_cut_a_draw_alike(owner):
    people = seeded_audience()
    campaign = make_campaign(owner, **CAMPAIGNS["control, cap and an A/B test"])
    reached = runs.Audience(campaign, NOW)
    plan = allocation.Plan.make(campaign, None, reached.count())
    spans = plan.spans()
    assert [span.outcome for span in spans] == ["control", "send", "send", "send", "wait", "over cap"]

    in_sql = reached.draw(plan, SEED)
    ids = list(reached.profiles.values_list("pk", flat=True))
    assert in_sql.cuts == allocation.Draw.cuts(SEED, spans, ids)

    case, params = in_sql.span_sql("k", "id")
    key = allocation.draw_key_sql("p.id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, k, {case} FROM (SELECT p.id, {key} AS k FROM segments_profile p WHERE p.id = ANY(%s)) p",  # noqa: S608
            [*params, allocation.seed_number(SEED), [p.pk for p in people]],
        )
        found = cursor.fetchall()
    assert {row[0]: row[1] for row in found} == {p.pk: allocation.draw_key(SEED, p.pk) for p in people}
    assert {row[0]: row[2] for row in found} == {p.pk: spans.index(in_sql.span(p.pk)) for p in people}
    # Exact counts: each span holds as many of the qualified as the plan says.
    counts = [sum(1 for pk in ids if in_sql.span(pk) == span) for span in spans]
    assert counts == [span.size for span in spans]


def test_a_live_campaigns_control_group_reads_the_same_hash_as_before():
    campaign = Campaign(pk=42, control_group_percent=30)
    for profile_id in range(1, 200):
        digest = hashlib.sha256(f"42:{profile_id}".encode()).digest()
        before = int.from_bytes(digest[:4], "big") % 100 < 30
        assert allocation.in_control_group(campaign, profile_id) == before


@postgresql_only
def test_a_run_on_postgresql_never_brings_its_audience_into_python(owner, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the audience was read into Python")

    monkeypatch.setattr(runs.Audience, "pages", refuse)
    monkeypatch.setattr(runs.Audience, "device_rows", refuse)
    fields = CAMPAIGNS["control, cap and an A/B test"]
    queries = []
    for count in (20, 200):
        Profile.objects.all().delete()
        audience(count)
        with CaptureQueriesContext(connection) as captured:
            run = started(make_campaign(owner, **fields), monkeypatch)
        assert run.status == "running" and run.dispatch.messages.exists()
        queries.append(len(captured))
    assert queries[0] == queries[1]  # as many statements for ten times the people


@postgresql_only
def test_a_message_by_a_property_of_too_many_values_pages_through_python_to_the_same_run(owner, monkeypatch):
    seeded_audience()
    fields = CAMPAIGNS["one message per property value, in each person's time zone"]
    in_sql = outcome(started(make_campaign(owner, timezone="Europe/Paris", **fields), monkeypatch))

    monkeypatch.setattr(runs, "MAX_VALUES", 3)  # fewer than the audience's tiers
    paged, pages = [], runs.Audience.pages

    def counted(self):
        paged.append(self)
        yield from pages(self)

    monkeypatch.setattr(runs.Audience, "pages", counted)
    assert outcome(started(make_campaign(owner, timezone="Europe/Paris", **fields), monkeypatch)) == in_sql
    assert paged


@postgresql_only
def test_the_draw_key_is_postgresqls_hashint8extended_for_any_id_and_seed():
    ids = [0, 1, -1, -5, 2**31 - 1, 2**31, 2**32 + 7, -(2**40), 2**62 + 3, 2**63 - 1, -(2**63)]
    seeds = ["", "clarion-run-1", "clarion-run-test", "Zoë"]
    with connection.cursor() as cursor:
        for seed in seeds:
            cursor.execute(
                f"SELECT i, {allocation.draw_key_sql('i')} FROM unnest(%s::bigint[]) AS i",  # noqa: S608
                [allocation.seed_number(seed), ids],
            )
            assert dict(cursor.fetchall()) == {i: allocation.draw_key(seed, i) for i in ids}
