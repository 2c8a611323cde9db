"""Which variant a live send gets: A/B variants alternating until the test size, then the
winner by clicks (ties to the earliest; no winner below the test size), split shares, and
one message per property value with its fallback."""

from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.models import Campaign, CampaignRun, LiveTrigger
from campaigns.tests.live import EventsApi, live_campaign, outcome, person, sent_to
from delivery.models import Message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AB = Campaign.MessageType.AB


@pytest.fixture
def api(client):
    return EventsApi(client)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def cart(api, *identities):
    api.post([{"identity": identity, "name": "Added To Cart"} for identity in identities])


# Live A/B.


def ab_campaign(**fields):
    return live_campaign(message_type=AB, variants=[{}, {}, {}], **fields)


def variants_sent(campaign):
    rows = LiveTrigger.objects.filter(campaign=campaign, status="sent").order_by("event_id")
    return "".join(rows.values_list("variant", flat=True))


def click(campaign, variant, times):
    """``times`` people who got ``variant`` click it (as the service worker reports)."""
    rows = Message.objects.filter(dispatch__run__campaign=campaign, variant=variant, clicked_at__isnull=True)
    Message.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[:times])).update(clicked_at=NOW)


def test_live_ab_alternates_variants_then_keeps_the_winner_by_clicks(api):
    campaign = ab_campaign(ab_test_size=6)
    identities = [f"p{i}" for i in range(10)]
    for identity in identities:
        person(identity)

    for identity in identities[:6]:
        cart(api, identity)
    assert variants_sent(campaign) == "ABCABC"
    assert not CampaignRun.objects.filter(campaign=campaign).exclude(winner="").exists()

    click(campaign, "B", 2)
    click(campaign, "C", 1)
    cart(api, *identities[6:])

    assert variants_sent(campaign) == "ABCABCBBBB"
    deciding = CampaignRun.objects.exclude(winner="").get(campaign=campaign)
    assert (deciding.winner, deciding.winner_picked_at) == ("B", NOW)
    assert set(deciding.dispatch.contents) == {"A", "B", "C"}


def test_a_tie_in_clicks_goes_to_the_earliest_variant(api):
    campaign = ab_campaign(ab_test_size=3)
    for identity in ("p1", "p2", "p3", "p4"):
        person(identity)
    cart(api, "p1", "p2", "p3")
    click(campaign, "B", 1)
    click(campaign, "C", 1)
    cart(api, "p4")
    assert variants_sent(campaign) == "ABCB"


def test_with_fewer_people_than_the_test_size_no_winner_is_declared_and_variants_keep_alternating(api):
    campaign = ab_campaign(ab_test_size=500)
    identities = [f"p{i}" for i in range(8)]
    for identity in identities:
        person(identity)
    for identity in identities:
        cart(api, identity)
    click(campaign, "C", 3)
    assert variants_sent(campaign) == "ABCABCAB"
    assert not CampaignRun.objects.filter(campaign=campaign).exclude(winner="").exists()


def test_split_shares_send_variants_in_those_proportions(api):
    campaign = live_campaign(message_type=AB, ab_test_size=1000, variants=[{"share": 50}, {"share": 30}, {"share": 20}])
    identities = [f"p{i}" for i in range(20)]
    for identity in identities:
        person(identity)
    cart(api, *identities)
    sent = variants_sent(campaign)
    assert (sent.count("A"), sent.count("B"), sent.count("C")) == (10, 6, 4)


# One message per property value.


def test_each_person_gets_the_message_for_their_property_value_or_the_fallback(api):
    campaign = live_campaign(
        message_type=Campaign.MessageType.BY_PROPERTY,
        property_name="language",
        variants=[
            {"name": "English", "property_value": "en"},
            {"name": "French", "property_value": "FR"},
            {"name": "Others", "is_fallback": True},
        ],
    )
    person("ann", properties={"language": "en"})
    person("fred", language="fr")  # the profile field, compared without case
    person("kim", properties={"language": "ko"})
    cart(api, "ann", "fred", "kim")
    sent = dict(LiveTrigger.objects.filter(campaign=campaign).values_list("profile__identity", "variant"))
    assert sent == {"ann": "English", "fred": "French", "kim": "Others"}


def test_without_a_fallback_a_person_with_another_value_is_skipped(api):
    campaign = live_campaign(
        message_type=Campaign.MessageType.BY_PROPERTY,
        property_name="language",
        variants=[{"name": "English", "property_value": "en"}],
    )
    person("kim", properties={"language": "ko"})
    cart(api, "kim")
    assert sent_to(campaign) == []
    assert outcome(campaign, "kim") == [("skipped", "No message for this person's language and no fallback message.")]
