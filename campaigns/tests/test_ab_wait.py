"""The A/B test's wait is in minutes, at least 15: the What step takes it with the error at
the field, stored hours become minutes, and the winner is picked once the minutes pass."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from accounts import roles
from campaigns import summary
from campaigns.actions import ab, runs
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from campaigns.tests.test_variants import ab as ab_step
from campaigns.tests.test_variants import error_at

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def draft(db, make_user):
    return do_create_draft(name="Spring sale", channel="web_push", kind="one_time", owner=make_user())


def what_url(campaign):
    return reverse("campaigns:what", args=[campaign.pk])


def test_a_wait_of_15_minutes_is_accepted(marketer, draft):
    response = marketer.post(what_url(draft), ab_step("One", "Two", ab_test_minutes="15"))

    assert response.status_code == 303
    draft.refresh_from_db()
    assert draft.ab_test_minutes == 15


def test_a_wait_of_10_minutes_is_refused_with_the_error_at_the_field(marketer, draft):
    response = marketer.post(what_url(draft), ab_step("One", "Two", ab_test_minutes="10"))

    assert response.status_code == 422
    assert "at least 15 minutes" in error_at(response, "id_ab_test_minutes_error")
    draft.refresh_from_db()
    assert draft.ab_test_minutes is None


@pytest.mark.parametrize(("minutes", "words"), [(240, "4 hours"), (90, "1 hour 30 minutes"), (15, "15 minutes")])
def test_overview_says_the_wait_in_words(db, make_user, minutes, words):
    campaign = make_campaign(make_user(), message_type="ab", ab_test_size=20, ab_test_minutes=minutes)

    rows = dict(summary._what_rows(campaign))

    assert rows["A/B test"] == f"test population 20%, winner after {words}"


def test_the_winner_is_picked_15_minutes_after_the_run_starts(db, make_user):
    with time_machine.travel(NOW, tick=False) as clock:
        audience(30)
        campaign = make_campaign(
            make_user(roles.MARKETER),
            message_type="ab",
            ab_mode="count",
            ab_test_size=10,
            ab_test_minutes=15,
            variants=[{}, {}],
            status="scheduled",
        )
        run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)
        assert run.ab_ends_at == NOW + timedelta(minutes=15)

        clock.move_to(NOW + timedelta(minutes=14, seconds=59))
        assert ab.do_finish_ab_tests() == []
        clock.move_to(NOW + timedelta(minutes=15))
        [finished] = ab.do_finish_ab_tests()
        assert finished.winner_picked_at == NOW + timedelta(minutes=15)


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_stored_hours_into_minutes_and_back(make_user):
    owner = make_user()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before = [("campaigns", "0006_run_failed_status")]
    after = [("campaigns", "0007_send_now_ab_minutes_date_property_type")]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps.get_model("campaigns", "Campaign")
        kept = old.objects.create(name="Four hours", channel="web_push", kind="one_time", owner_id=owner.pk)
        old.objects.filter(pk=kept.pk).update(ab_test_hours=4)
        unset = old.objects.create(name="No test", channel="web_push", kind="one_time", owner_id=owner.pk)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps.get_model("campaigns", "Campaign")
        assert new.objects.get(pk=kept.pk).ab_test_minutes == 240
        assert new.objects.get(pk=unset.pk).ab_test_minutes is None

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert old.objects.get(pk=kept.pk).ab_test_hours == 4
    finally:
        MigrationExecutor(connection).migrate(latest)
        Campaign.objects.all().delete()
