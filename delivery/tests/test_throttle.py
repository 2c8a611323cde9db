"""The global throttle, shared by every worker through the cache."""

import threading
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core.cache import cache

from delivery.throttle import Throttle, interval_bounds

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_intervals_are_quarter_hours():
    assert interval_bounds(AT) == (datetime(2026, 3, 10, 12, 0, tzinfo=UTC), datetime(2026, 3, 10, 12, 15, tzinfo=UTC))


def test_two_workers_share_one_allowance_per_interval():
    one, two = Throttle(5), Throttle(5)

    granted = [one.take(3, AT), two.take(3, AT), one.take(3, AT)]

    assert granted == [3, 2, 0]
    assert Throttle(5).take(4, datetime(2026, 3, 10, 12, 15, tzinfo=UTC)) == 4  # a new interval


@pytest.mark.skipif(
    "redis" not in settings.CACHES["default"]["BACKEND"].lower(),
    reason="atomic only on Redis (production); the embedded database cache runs one worker",
)
def test_workers_taking_at_the_same_moment_never_get_more_than_the_limit():
    granted, lock = [], threading.Lock()

    def worker():
        throttle = Throttle(100)
        for _ in range(10):
            got = throttle.take(7, AT)
            with lock:
                granted.append(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(granted) == 100


def test_no_limit_grants_everything():
    assert Throttle(None).take(10_000, AT) == 10_000
