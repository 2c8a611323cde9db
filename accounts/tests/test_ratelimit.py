"""accounts.ratelimit: django-ratelimit's windows and keys, counted in one Redis round trip."""

import pytest
import redis
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django_ratelimit.core import EXPIRATION_FUDGE, get_usage

from accounts.ratelimit import usage

pytestmark = pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="counts in Redis (CACHE_URL=redis://…)"
)


@pytest.fixture
def round_trips(monkeypatch):
    """The commands sent to Redis, one list per round trip (a pipeline is one)."""
    sent = []
    real = redis.connection.AbstractConnection.send_packed_command

    def send(connection, command, check_health=True):
        chunks = [command] if isinstance(command, bytes | str) else command
        sent.append([bytes(chunk) for chunk in chunks])
        return real(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
    return sent


def test_counts_on_django_ratelimits_key_and_window():
    request = RequestFactory().get("/")
    value = "203.0.113.9"
    counts = []
    for counter in [usage, usage, None, usage]:
        if counter is None:  # django-ratelimit's own count goes on from ours, and ours from it
            answer = get_usage(request, group="t", key=lambda group, request: value, rate="3/m", increment=True)
        else:
            answer = counter(request, group="t", value=value, rate="3/m")
        counts.append((answer["count"], answer["should_limit"]))
        assert answer["limit"] == 3
        assert 0 <= answer["time_left"] <= 60
    assert counts == [(1, False), (2, False), (3, False), (4, True)]


def test_one_round_trip_sets_the_windows_expiry_once(round_trips):
    request = RequestFactory().get("/")
    usage(request, group="t", value="198.51.100.7", rate="5/s")
    usage(request, group="t", value="198.51.100.7", rate="5/s")
    assert len(round_trips) == 2  # one per count: INCR and EXPIRE … NX pipelined (add then incr was two)
    assert all(b"INCR" in b"".join(trip) and b"EXPIRE" in b"".join(trip) for trip in round_trips)
    key = next(line for line in round_trips[0][0].split(b"\r\n") if b"rl:" in line).decode()
    assert 0 < cache._cache.get_client(key).ttl(key) <= 1 + EXPIRATION_FUDGE
