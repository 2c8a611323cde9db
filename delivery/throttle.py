"""The global throttle: at most N messages in each 15-minute interval, all workers together.

Seed 001 ("Push Campaign Throttling"): "100,000 notifications per 15 minute interval … 500,000
users … will then deliver in 1 hour 15 minutes" — fixed intervals, so the count lives in one
cache key per interval (aligned to :00, :15, :30, :45 UTC) that every worker increments.
On Redis (production) ``incr`` is atomic, so two workers can never be granted the same slot.
The database cache of the embedded mode reads then writes; it runs one worker, and two
would at worst overshoot by a batch.
"""

from datetime import UTC, datetime, timedelta

from django.core.cache import cache as default_cache

INTERVAL = timedelta(minutes=15)


def interval_bounds(now):
    start = datetime.fromtimestamp(now.timestamp() // INTERVAL.total_seconds() * INTERVAL.total_seconds(), tz=UTC)
    return start, start + INTERVAL


class Throttle:
    def __init__(self, per_interval, *, cache=None):
        """``per_interval``: ``DeliverySettings.throttle_per_15_min``; None or 0 means no throttle."""
        self.limit = per_interval or None
        self.cache = cache or default_cache

    def take(self, wanted, now):
        """How many of ``wanted`` sends may go now (the rest wait for ``next_interval(now)``)."""
        if self.limit is None or wanted <= 0:
            return wanted
        start = interval_bounds(now)[0]
        key = f"delivery:throttle:{int(start.timestamp())}"
        # The key outlives its interval a little so a late worker still finds it.
        self.cache.add(key, 0, timeout=int(INTERVAL.total_seconds()) * 2)
        used = self.cache.incr(key, wanted)
        granted = max(0, min(wanted, self.limit - (used - wanted)))
        if granted < wanted:
            # Give back what was not granted, so the count stays the number actually sent.
            self.cache.decr(key, wanted - granted)
        return granted

    @staticmethod
    def next_interval(now):
        return interval_bounds(now)[1]
