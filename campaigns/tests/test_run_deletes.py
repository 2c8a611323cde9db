"""Messages and control-group rows keep no database constraint to their profile and device
(a run's start wrote a million rows and PostgreSQL checked each constraint row by row at
its commit): deleting a profile or a device through the ORM still deletes their rows."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from accounts import roles
from campaigns.actions import runs
from campaigns.models import CampaignRun, ControlMember
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Message
from segments.models import Device

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def run(make_user):
    audience(20)
    campaign = make_campaign(make_user(roles.MARKETER), control_group_percent=25, status="scheduled")
    return runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)


def referenced(table):
    """The tables ``table``'s foreign-key constraints point to."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the constraints are PostgreSQL's")
def test_messages_and_control_members_have_no_constraint_to_profiles_and_devices_but_keep_the_dispatchs():
    assert referenced(Message._meta.db_table) == {"delivery_dispatch"}
    assert referenced(ControlMember._meta.db_table) == {"campaigns_campaignrun"}


def test_deleting_a_profile_deletes_its_messages_and_control_rows_and_nobody_elses(run):
    sent = Message.objects.filter(dispatch=run.dispatch).first()
    held_out = ControlMember.objects.filter(run=run).first()
    messages, members = Message.objects.count(), ControlMember.objects.count()
    assert (messages, members) == (15, 5)

    sent.profile.delete()
    held_out.profile.delete()

    assert not Message.objects.filter(profile_id=sent.profile_id).exists()
    assert not ControlMember.objects.filter(profile_id=held_out.profile_id).exists()
    assert (Message.objects.count(), ControlMember.objects.count()) == (messages - 1, members - 1)


def test_deleting_a_device_deletes_its_messages_though_it_moved_to_another_profile(run):
    sent = Message.objects.filter(dispatch=run.dispatch).select_related("device").first()
    other = Message.objects.filter(dispatch=run.dispatch).exclude(pk=sent.pk).first()
    device = sent.device
    device.profile_id = other.profile_id  # the person logged in: the device is theirs now
    device.save(update_fields=["profile"])

    Device.objects.filter(pk=device.pk).delete()

    assert not Message.objects.filter(device_id=device.pk).exists()
    assert Message.objects.filter(pk=other.pk).exists()
    assert Message.objects.count() == 14


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are PostgreSQL's")
def test_no_message_index_is_a_prefix_of_another():
    """Each index costs every message a run writes an entry: one that another begins with
    (the foreign key's own index on dispatch_id, say) only costs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.n), i.indpred IS NOT NULL FROM pg_index i"
            " CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s::regclass GROUP BY i.indexrelid, i.indpred",
            [Message._meta.db_table],
        )
        full = [columns for columns, partial in cursor.fetchall() if not partial]
    for columns in full:
        longer = [other for other in full if len(other) > len(columns) and other[: len(columns)] == columns]
        assert not longer, f"{columns} is the start of {longer}"
