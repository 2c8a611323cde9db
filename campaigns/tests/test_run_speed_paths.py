"""The fast paths of starting a run: ``do_enqueue``'s one-statement insert per chunk (on
PostgreSQL, ``INSERT … unnest``; bulk_create on SQLite) counting only what it added, held rows
and message contexts written as given, and the audience's devices read by page, densely or
sparsely, to the same messages."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.actions import runs
from campaigns.models import CampaignRun, ControlMember
from campaigns.tests.scheduled import audience, make_campaign
from delivery.actions import dispatches
from delivery.models import Message
from segments.models import Device

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def new_dispatch():
    return dispatches.do_create_dispatch(channel="web_push", label="speed", contents={"A": {"title": "Hi"}})


def device_rows(profiles):
    return list(Device.objects.filter(profile__in=profiles).order_by("pk").values_list("profile_id", "pk"))


def test_enqueueing_counts_only_the_rows_it_added_across_chunks(monkeypatch):
    monkeypatch.setattr(dispatches, "CHUNK", 7)
    monkeypatch.setattr(dispatches, "INSERT_CHUNK", 7)
    rows = device_rows(audience(20))
    dispatch = new_dispatch()

    first = dispatches.do_enqueue(dispatch, ((p, d, "A") for p, d in rows[:12]))
    again = dispatches.do_enqueue(dispatch, ((p, d, "A") for p, d in rows))  # 12 already there, 8 new
    twice_in_one_call = dispatches.do_enqueue(new_dispatch(), [(p, d, "A") for p, d in rows[:3]] * 2)

    assert (first, again, twice_in_one_call) == (12, 8, 3)
    assert Message.objects.filter(dispatch=dispatch).count() == 20


def test_held_rows_and_message_contexts_are_written_as_given():
    (one, first), (two, second) = device_rows(audience(2))
    later = NOW + timedelta(hours=3)
    dispatch = new_dispatch()

    dispatches.do_enqueue(dispatch, [(one, first, "A", later, {"event": {"sku": 7}}), (two, second, "")])

    found = {
        row[0]: row[1:]
        for row in Message.objects.filter(dispatch=dispatch).values_list(
            "device_id", "status", "not_before", "context", "variant", "code", "attempts", "created_at"
        )
    }
    assert found[first] == ("held", later, {"event": {"sku": 7}}, "A", "", 0, NOW)
    assert found[second] == ("queued", None, None, "", "", 0, NOW)


def started(campaign):
    campaign.status = "scheduled"
    campaign.save()
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW)
    return runs.do_start_run(run.pk)


@pytest.mark.parametrize("every", [1, 5], ids=["dense pages", "sparse pages"])
def test_a_run_writes_a_message_for_each_reachable_device_of_its_people_and_no_one_elses(owner, monkeypatch, every):
    monkeypatch.setattr(runs, "PAGE", 4)
    people = audience(30)
    for profile in people[::3]:  # a second browser for some
        Device.objects.create(profile=profile, platform="web", endpoint=f"https://push.example/2/{profile.pk}",
                              push_status="allowed")  # fmt: skip
    chosen = people[::every]
    for profile in people:
        profile.properties = {"in": profile in chosen}
        profile.save()
    Device.objects.filter(profile=chosen[1]).update(push_status="blocked")
    rules = {"match": "all", "conditions": [{"kind": "property", "name": "in", "op": "equals", "value": True}]}

    run = started(make_campaign(owner, rules=rules))

    expected = set(Device.objects.filter(profile__in=chosen, push_status="allowed").values_list("pk", flat=True))
    written = list(Message.objects.filter(dispatch=run.dispatch).values_list("device_id", flat=True))
    assert sorted(written) == sorted(expected)
    assert run.targeted == len(chosen) - 1


def test_a_page_read_by_its_range_still_leaves_out_the_control_group(owner, monkeypatch):
    monkeypatch.setattr(runs, "PAGE", 10)
    people = audience(40)

    run = started(make_campaign(owner, control_group_percent=50))

    held_out = set(ControlMember.objects.filter(run=run).values_list("profile_id", flat=True))
    sent = set(Message.objects.filter(dispatch=run.dispatch).values_list("profile_id", flat=True))
    assert len(held_out) == 20
    assert sent == {profile.pk for profile in people} - held_out
