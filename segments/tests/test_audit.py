"""Saved segments in the audit log (created, changed, deleted, by whom), and a segment that
a campaign uses: named on its page, and refused (409, nothing deleted) when deleted."""

from datetime import UTC, datetime

import pytest
import time_machine

from accounts import roles
from accounts.models import AuditEntry
from campaigns.models import Campaign
from segments.actions.segments import SegmentInUse, delete_segment, save_segment
from segments.forms.builder_display import form_from_rules
from segments.models import Segment

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def customers(kind):
    return {
        "match": "all",
        "conditions": [{"kind": "property", "name": "customer_type", "op": "equals", "value": kind}],
    }


GOLD, SILVER = customers("Gold"), customers("Silver")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def maria(make_user):
    return make_user(roles.MARKETER, username="maria")


@pytest.fixture
def as_maria(client, maria):
    client.force_login(maria)
    return client


def save(client, url, rules, **details):
    data = form_from_rules(rules) | {"action": "save", "name": "", "description": ""} | details
    return client.post(url, data)


def entries(segment_id):
    return list(AuditEntry.objects.filter(content_type__model="segment", object_id=segment_id))


def test_saving_a_new_segment_records_who_created_it(as_maria, maria):
    save(as_maria, "/segments/new/", GOLD, name="Gold")
    segment = Segment.objects.get()
    [entry] = entries(segment.pk)
    assert (entry.verb, entry.actor, entry.object_label, entry.created_at) == ("created", maria, "Gold", NOW)


def test_changing_a_segment_records_the_fields_that_changed(as_maria, maria, make_user):
    segment = save_segment(name="Gold", rules=GOLD, owner=make_user(roles.MARKETER, username="owner"))
    save(as_maria, f"/segments/{segment.pk}/", SILVER, name="Silver")
    entry = entries(segment.pk)[0]
    assert (entry.verb, entry.actor, entry.detail) == ("changed", maria, "changed name, rules")


def test_saving_a_segment_unchanged_records_nothing_more(as_maria):
    segment = save_segment(name="Gold", rules=GOLD, user=None)
    save(as_maria, f"/segments/{segment.pk}/", GOLD, name="Gold")
    assert [entry.verb for entry in entries(segment.pk)] == ["created"]


def test_deleting_a_segment_records_it_under_its_old_name(as_maria, maria):
    segment = save_segment(name="Gold", rules=GOLD)
    response = as_maria.post(f"/segments/{segment.pk}/delete/")
    assert response.status_code == 302
    assert not Segment.objects.exists()
    entry = entries(segment.pk)[0]
    assert (entry.verb, entry.actor, entry.object_label) == ("deleted", maria, "Gold")


def test_an_ad_hoc_segment_is_recorded_on_its_campaign_not_as_a_segment(db):
    segment = save_segment(segment=Segment(is_adhoc=True), name="Campaign 7 (ad hoc)", rules=GOLD)
    save_segment(segment=segment, name="Campaign 7 (ad hoc)", rules=SILVER)
    delete_segment(segment)
    assert entries(segment.pk) == []


def test_deleting_a_segment_a_campaign_uses_answers_409_naming_it_and_deletes_nothing(as_maria):
    segment = save_segment(name="Gold", rules=GOLD)
    campaign = Campaign.objects.create(name="Spring <sale>", channel="web_push", kind="one_time", segment=segment)
    response = as_maria.post(f"/segments/{segment.pk}/delete/")
    assert response.status_code == 409
    page = response.content.decode()
    assert "Nothing was deleted" in page
    assert f'<a href="/campaigns/{campaign.pk}/">Spring &lt;sale&gt;</a>' in page
    assert Segment.objects.filter(pk=segment.pk).exists()
    assert [entry.verb for entry in entries(segment.pk)] == ["created"]  # the refused delete left no entry


def test_the_delete_action_refuses_a_segment_in_use_with_the_campaigns(db):
    segment = save_segment(name="Gold", rules=GOLD)
    for name in ("B sale", "A sale"):
        Campaign.objects.create(name=name, channel="web_push", kind="one_time", segment=segment)
    with pytest.raises(SegmentInUse) as refusal:
        delete_segment(segment)
    assert [campaign.name for campaign in refusal.value.users] == ["A sale", "B sale"]
    assert str(refusal.value) == "“Gold” is used by “A sale”, “B sale”: choose another segment there first."


def test_the_segment_and_delete_pages_say_which_campaigns_use_it_before_one_deletes(as_maria):
    segment = save_segment(name="Gold", rules=GOLD)
    campaign = Campaign.objects.create(name="Spring sale", channel="web_push", kind="one_time", segment=segment)
    for url in (f"/segments/{segment.pk}/", f"/segments/{segment.pk}/delete/"):
        page = as_maria.get(url).content.decode()
        assert f'<a href="/campaigns/{campaign.pk}/">Spring sale</a>' in page
    assert "Delete segment" not in as_maria.get(f"/segments/{segment.pk}/delete/").content.decode()


def test_the_segment_page_shows_its_history(as_maria, maria):
    segment = save_segment(name="Gold", rules=GOLD, owner=maria)
    save(as_maria, f"/segments/{segment.pk}/", GOLD, name="Gold buyers")
    history = as_maria.get(f"/segments/{segment.pk}/").content.decode().split('id="history"', 1)[1]
    assert history.index("changed name") < history.index("created")
    assert "maria" in history
