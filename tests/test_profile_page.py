"""A profile's page: the age from the date of birth, and the messages the person received."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from accounts import roles
from campaigns import models as campaigns
from delivery.models import Dispatch, Message
from segments.models import Device, Profile
from segments.rules import tree as t
from segments.rules.compiler import profiles
from segments.rules.dates import age_bounds, age_on

NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def page(client, person):
    return client.get(f"/audience/profiles/{person.pk}/").content.decode()


def test_the_age_is_worked_out_from_the_date_of_birth(marketer):
    person = Profile.objects.create(identity="ada", date_of_birth=date(1990, 3, 1))
    assert "<dt>Age</dt><dd>36</dd>" in page(marketer, person)


def test_a_date_of_birth_wins_over_an_age_given_and_an_age_alone_is_shown_as_given(marketer):
    born = Profile.objects.create(identity="born", date_of_birth=date(1990, 2, 28), age=20)
    aged = Profile.objects.create(identity="aged", age=41)
    assert "<dt>Age</dt><dd>37</dd>" in page(marketer, born)
    assert "<dt>Age</dt><dd>41</dd>" in page(marketer, aged)


@given(born=st.dates(date(1900, 1, 1), date(2026, 12, 31)), today=st.dates(date(2027, 1, 1), date(2030, 12, 31)))
def test_age_on_agrees_with_the_age_conditions_bounds(born, today):
    age = age_on(born, today)
    earliest, latest = age_bounds(today, age, age)
    assert earliest < born <= latest


@pytest.mark.django_db
def test_the_segment_and_the_page_agree_on_29_february_birthdays_and_tomorrows():
    births = [date(2000, 2, 29), date(1999, 2, 28), date(1999, 3, 1), date(2001, 2, 28), date(1990, 3, 1)]
    people = [Profile.objects.create(identity=f"p{n}", date_of_birth=born) for n, born in enumerate(births)]
    for age in range(25, 38):
        rule = t.parse({"match": "all", "conditions": [{"kind": "age", "min": age, "max": age}]})
        selected = set(profiles(rule, now=NOW).values_list("pk", flat=True))
        assert selected == {p.pk for p in people if p.age_on(NOW.date()) == age}, age


def message(person, device, dispatch, **fields):
    return Message.objects.create(dispatch=dispatch, profile=person, device=device, **fields)


def test_the_messages_a_person_received_are_listed_with_their_campaign(marketer):
    person = Profile.objects.create(identity="ada")
    device = Device.objects.create(profile=person, platform="ios", token="t-ada", push_status="allowed")
    spring = campaigns.Campaign.objects.create(name="Spring sale", channel="mobile_push", kind="one_time")
    run_dispatch = Dispatch.objects.create(channel="mobile_push", label="Spring sale, run 1")
    campaigns.CampaignRun.objects.create(campaign=spring, planned_at=NOW, dispatch=run_dispatch, status="running")
    sent = NOW - timedelta(hours=2)
    message(
        person,
        device,
        run_dispatch,
        status="sent",
        sent_at=sent,
        viewed_at=sent + timedelta(minutes=5),
        clicked_at=sent + timedelta(minutes=6),
    )
    test_dispatch = Dispatch.objects.create(channel="mobile_push", label="Test of Spring sale", is_test=True)
    campaigns.TestSend.objects.create(campaign=spring, dispatch=test_dispatch)
    message(person, device, test_dispatch, status="failed", code="apns_token_format")
    other = Profile.objects.create(identity="bob")
    message(other, Device.objects.create(profile=other, platform="ios", token="t-bob"), run_dispatch, status="sent")

    html = page(marketer, person)
    section = html[html.index('id="messages"') :]
    assert section.count(f'<a href="/campaigns/{spring.pk}/">Spring sale</a>') == 2
    assert "test send" in section
    assert "Sent" in section and "Failed" in section and "apns_token_format" in section
    assert "2027-02-28 10:00" in section and "2027-02-28 10:05" in section and "2027-02-28 10:06" in section
    assert "The latest 2 messages" in section


def test_only_the_latest_fifty_are_listed(marketer):
    person = Profile.objects.create(identity="ada")
    device = Device.objects.create(profile=person, platform="ios", token="t-ada")
    for n in range(52):
        message(person, device, Dispatch.objects.create(channel="mobile_push", label=f"News {n}"), status="queued")
    assert "The latest 50 messages" in page(marketer, person)


def test_a_person_without_messages_says_so(marketer):
    assert "No messages yet." in page(marketer, Profile.objects.create(identity="ada"))


def test_the_page_is_for_those_who_manage_segments(client_as):
    person = Profile.objects.create(identity="ada")
    assert client_as(roles.VIEWER).get(f"/audience/profiles/{person.pk}/").status_code == 403
