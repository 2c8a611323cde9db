"""Many visitors asking for a capped pop-up at the same moment, each request in its own thread
and database connection on real PostgreSQL transactions: the campaign's row lock lets them
decide one at a time, so the total cap and the daily limit are never overshot."""

import threading
import time

import pytest
from django.db import connection, transaction

from campaigns.models import Campaign, LiveTrigger
from campaigns.tests.popups import Browser, make_popup, make_site
from delivery.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def ask_at_once(campaign, browsers):
    """Each browser asks from its own thread while the test holds the campaign's row lock:
    every request is past its own checks and waiting on the lock when it is let go."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent row locks need PostgreSQL")
    answers = [None] * len(browsers)

    def ask(index, browser):
        try:
            answers[index] = browser.ask()
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=pair) for pair in enumerate(browsers)]
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        for thread in threads:
            thread.start()
        time.sleep(2)  # the requests reach their lock waits
    for thread in threads:
        thread.join(timeout=60)
    assert all(answer is not None and answer.status_code == 200 for answer in answers), answers
    return [item for answer in answers for item in answer.json()["popups"]]


def test_twenty_visitors_at_once_against_a_cap_of_five_get_exactly_five():
    site = make_site()
    campaign = make_popup(site, reach_mode=Campaign.ReachMode.CAP, target_cap=5)

    given = ask_at_once(campaign, [Browser(site) for _ in range(20)])

    assert len(given) == 5
    assert len({item["message"] for item in given}) == 5
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 5
    assert LiveTrigger.objects.filter(campaign=campaign, status=LiveTrigger.Status.SENT).count() == 5
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_twenty_visitors_at_once_against_a_daily_limit_of_three_get_exactly_three():
    site = make_site()
    campaign = make_popup(site, daily_limit=3)

    given = ask_at_once(campaign, [Browser(site) for _ in range(20)])

    assert len(given) == 3
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 3
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING  # a daily limit does not end it
