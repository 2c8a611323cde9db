"""Two identical send requests at the same moment, on real PostgreSQL transactions: the unique
index on the idempotency key makes the second wait for the first, then answer with its
answer; only one set of messages is made. Different keys at the same moment send twice."""

import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from campaigns.actions import lifecycle
from campaigns.models import Campaign, CampaignRun, IdempotencyKey, Variant
from campaigns.tests.live import person
from delivery.models import Message
from segments.actions.keys import create_api_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def campaign():
    campaign = Campaign.objects.create(
        name="Order confirmation",
        channel=Campaign.Channel.WEB_PUSH,
        kind=Campaign.Kind.API_TRIGGERED,
        steps_done=["who", "when", "what", "setup"],
    )
    Variant.objects.create(campaign=campaign, content={"title": "Confirmed", "body": "Thanks"})
    return lifecycle.do_schedule(campaign, user=None)


def post_at_once(campaign, keys):
    """Post the same body once per key, each from its own thread (its own database
    connection), while the test holds the campaign's row lock: every request is inside its
    transaction, past its idempotency insert or waiting on it, when the lock is let go."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and a waiting unique index need PostgreSQL")
    _, full = create_api_key("backend", rate_per_minute=1000)
    body = json.dumps({"to": ["ada"], "data": {"order": "1"}})
    answers = [None] * len(keys)

    def post(index, key):
        try:
            answers[index] = Client().post(
                f"/api/v1/campaigns/{campaign.pk}/send",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {full}", "Idempotency-Key": key},
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index, key)) for index, key in enumerate(keys)]
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # both requests reach their lock waits
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_the_same_key_twice_at_once_makes_one_set_of_messages(campaign):
    person("ada", devices=2)

    first, second = post_at_once(campaign, ["order-1", "order-1"])

    assert first.status_code == second.status_code == 200, (first.content, second.content)
    assert first.json() == second.json()
    assert sorted(answer.get("Idempotent-Replayed", "") for answer in (first, second)) == ["", "true"]
    assert Message.objects.count() == 2  # one set: Ada's two devices
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_different_keys_at_once_send_twice(campaign):
    person("ada")

    first, second = post_at_once(campaign, ["order-1", "order-2"])

    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in first and "Idempotent-Replayed" not in second
    assert Message.objects.count() == 2
    assert CampaignRun.objects.filter(campaign=campaign).count() == 2
