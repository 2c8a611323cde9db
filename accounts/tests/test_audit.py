"""accounts.audit.record: one entry per change, written only inside the change's transaction."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from accounts import audit, roles
from accounts.models import AuditEntry
from segments.models import Site

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def site(db):
    return Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])


def test_an_entry_names_its_actor_object_and_time(site, make_user):
    user = make_user(roles.ADMIN, username="ada")
    with time_machine.travel(NOW, tick=False):
        entry = audit.record(user, audit.Verb.CHANGED, site, "identity verification on")
    assert (entry.actor, entry.actor_name, entry.created_at) == (user, "ada", NOW)
    assert (entry.content_type.model, entry.object_id, entry.object_label) == ("site", site.pk, "Shop")
    assert str(entry) == "ada changed Shop"


def test_an_entry_without_a_user_is_clarion_or_the_named_caller(site):
    assert audit.record(None, audit.Verb.CHANGED, site).who == "Clarion"
    by_api = audit.record(None, audit.Verb.CHANGED, site, actor_name="API key “Backend”")
    assert (by_api.actor, by_api.who) == (None, "API key “Backend”")


def test_history_is_the_objects_latest_entries_newest_first(site):
    other = Site.objects.create(name="Blog", allowed_origins=["https://blog.example.com"])
    for minutes in range(25):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            audit.record(None, audit.Verb.CHANGED, site, f"change {minutes}")
    audit.record(None, audit.Verb.CHANGED, other, "elsewhere")
    found = audit.history(site)
    assert len(found) == audit.LATEST == 20
    assert [entry.detail for entry in found[:2]] == ["change 24", "change 23"]


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused_so_a_change_never_commits_without_its_entry():
    site = Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(None, audit.Verb.CHANGED, site)
    with transaction.atomic():
        audit.record(None, audit.Verb.CHANGED, site)
    assert AuditEntry.objects.count() == 1
