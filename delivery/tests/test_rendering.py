"""Liquid per profile is rendered once per distinct value of what it reads: people alike in
the profile fields a variant's Liquid reads share one render, and a variant that reads the
profile any other way is rendered per person, as before."""

import pytest

from delivery.actions.rendering import Renderer, profile_fields_read
from segments.models import Profile

pytestmark = pytest.mark.django_db


def people(*names, **fields):
    return [Profile.objects.create(identity=f"p-{i}", name=name, **fields) for i, name in enumerate(names)]


def test_people_with_the_same_first_name_share_one_render():
    zoe, other_zoe, ada = people("Zoë Adams", "Zoë Brown", "Ada Lovelace")
    renderer = Renderer(
        {"A": {"title": "{{ profile.first_name }}, your cart is waiting"}}, [zoe.pk, other_zoe.pk, ada.pk]
    )

    titles = [renderer.content(person.pk, "A")["title"] for person in (zoe, other_zoe, ada)]

    assert titles == ["Zoë, your cart is waiting", "Zoë, your cart is waiting", "Ada, your cart is waiting"]
    assert renderer.renders == 2


def test_a_field_read_besides_keeps_people_apart():
    zoe, other_zoe = people("Zoë Adams", "Zoë Brown")
    renderer = Renderer({"A": {"title": "{{ profile.first_name }} ({{ profile.identity }})"}}, [zoe.pk, other_zoe.pk])

    assert renderer.content(zoe.pk, "A")["title"] == "Zoë (p-0)"
    assert renderer.content(other_zoe.pk, "A")["title"] == "Zoë (p-1)"
    assert renderer.renders == 2


@pytest.mark.parametrize(
    "title",
    [
        "{% for pair in profile %}{{ pair }}{% endfor %}",  # a loop over the whole profile
        "{% assign someone = profile %}{{ someone.identity }}",
        "{{ profile['identity'] }}",
        "{{ profile | size }}",  # a filter of the whole of it
    ],
)
def test_a_profile_read_some_other_way_is_rendered_per_person(title):
    zoe, other_zoe = people("Zoë Adams", "Zoë Brown")
    renderer = Renderer({"A": {"title": title}}, [zoe.pk, other_zoe.pk])

    renderer.content(zoe.pk, "A")
    renderer.content(other_zoe.pk, "A")

    assert profile_fields_read({"title": title}) is None
    assert renderer.renders == 2


def test_the_fields_read():
    assert profile_fields_read(
        {"title": "{{ profile.first_name }}", "body": "{% if profile.age > 30 %}x{% endif %}"}
    ) == [
        "age",
        "first_name",
    ]
    assert profile_fields_read({"title": "{{ profile.address.city | upcase }}"}) == ["address"]
    assert profile_fields_read({"title": "Hi", "kv": {"tier": "{{ profile.tier }}"}}) == ["tier"]
    assert profile_fields_read({"title": "Update your profile"}) is None  # the word alone: not known
    assert profile_fields_read({"title": "{{ profile.first-name }}"}) is None
    assert profile_fields_read({"title": "{{ event.name }}"}) == []
