"""The admin speaks to staff in words: plurals spelled right, help that says what a field means."""

import re

import pytest
from django.contrib import admin

from delivery.models import Dispatch, Message
from segments.models import Device, Profile

# Notes for developers that once showed under admin fields: a seed file, a design doc, JSON shapes.
INTERNAL = re.compile(r"\bseed \d|DESIGN\.md|\.txt\b|\[\{|\bbase64url\b")


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def test_the_admin_index_spells_every_plural(staff):
    page = staff.get("/admin/").content.decode()
    assert "Dispatches" in page
    assert "Dispatchs" not in page
    for model in admin.site._registry:
        plural = str(model._meta.verbose_name_plural)
        assert plural[0].upper() + plural[1:] in page  # the admin's capfirst


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
def test_no_field_shown_to_staff_carries_an_internal_note(model):
    notes = {field.name: str(field.help_text) for field in model._meta.get_fields() if getattr(field, "help_text", "")}
    assert {name: text for name, text in notes.items() if INTERNAL.search(text)} == {}


def test_a_messages_code_is_explained_on_its_admin_page(staff):
    dispatch = Dispatch.objects.create(channel="web_push", label="Spring sale, run 1")
    person = Profile.objects.create(identity="ada")
    device = Device.objects.create(profile=person, platform="ios", token="t-1", push_status="allowed")
    message = Message.objects.create(dispatch=dispatch, profile=person, device=device, status="failed", code="bad_auth")
    page = staff.get(f"/admin/delivery/message/{message.pk}/change/").content.decode()
    assert "(seed 003, DESIGN.md)" not in page
    assert "Why the push service refused it" in page
