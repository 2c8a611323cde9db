"""segments/actions/sites.py: the one action that adds an origin to a site (the demo page
calls it); creating, switching and deleting are covered through Settings in
tests/test_settings_audit.py."""

import pytest

from accounts.models import AuditEntry
from segments.actions.sites import do_allow_origin, do_create_site

pytestmark = pytest.mark.django_db


def test_allowing_an_origin_adds_it_once_and_records_it_once():
    site = do_create_site("Shop", ["https://shop.example.com"], user=None)

    do_allow_origin(site, "https://www.shop.example.com", user=None)
    site = do_allow_origin(site, "https://www.shop.example.com", user=None)

    site.refresh_from_db()
    assert site.allowed_origins == ["https://shop.example.com", "https://www.shop.example.com"]
    entries = [(entry.verb, entry.detail, entry.actor_name) for entry in AuditEntry.objects.order_by("pk")]
    assert entries == [
        (AuditEntry.Verb.CREATED, "origins https://shop.example.com", ""),
        (AuditEntry.Verb.CHANGED, "origin https://www.shop.example.com allowed", ""),
    ]


def test_allowing_an_origin_keeps_one_added_meanwhile():
    site = do_create_site("Shop", ["https://shop.example.com"], user=None)
    stale = type(site).objects.get(pk=site.pk)

    do_allow_origin(site, "https://a.example.com", user=None)
    do_allow_origin(stale, "https://b.example.com", user=None)

    site.refresh_from_db()
    assert site.allowed_origins == ["https://shop.example.com", "https://a.example.com", "https://b.example.com"]
