"""An API call's key check and rate limit in one Redis round trip (segments.actions.keys):
the key's record is read and the call counted together once the process knows the key's
rate, with the same counter, the same answers and the same refusals as two round trips."""

import json

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory

from accounts.ratelimit import usage
from accounts.tests.test_ratelimit import round_trips  # noqa: F401 (a fixture)
from segments.actions.keys import create_api_key, revoke_api_key
from segments.models import Event, Profile

pytestmark = pytest.mark.django_db

LIMIT, REMAINING = "X-RateLimit-Limit", "X-RateLimit-Remaining"


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()  # the counters of earlier tests from the same address


def event(client, token, identity="ada"):
    body = json.dumps({"events": [{"identity": identity, "name": "Viewed", "properties": {"page": "/"}}]})
    headers = {"Authorization": f"Bearer {token}"}
    return client.post("/api/v1/events", body, content_type="application/json", headers=headers)


def remaining(response):
    return int(response[LIMIT]), int(response[REMAINING])


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="counts Redis round trips (CACHE_URL=redis://…)"
)
def test_a_known_keys_call_reads_its_key_and_counts_it_in_one_round_trip(client, round_trips):  # noqa: F811
    _, full_key = create_api_key("shop", rate_per_minute=1000)
    Profile.objects.create(identity="ada")
    event(client, full_key)  # this process learns the key's rate
    round_trips.clear()
    assert event(client, full_key).status_code == 200
    asked = [b"".join(trip) for trip in round_trips if b"LPUSH" not in trip[0]]  # the fan-out message aside
    # The key's record (GET) and the rate limit (INCR, EXPIRE … NX) together: it was two.
    assert len(asked) == 1, asked
    assert all(command in asked[0] for command in (b"GET", b"INCR", b"EXPIRE"))


def test_the_count_goes_on_from_the_rate_limits_own_and_back(client):
    key, full_key = create_api_key("shop", rate_per_minute=5)
    counted = [remaining(event(client, full_key)), remaining(event(client, full_key))]
    direct = usage(RequestFactory().get("/"), group="api", value=key.prefix, rate="5/m")  # accounts.ratelimit's count
    counted.append(remaining(event(client, full_key)))
    assert counted == [(5, 4), (5, 3), (5, 1)]
    assert direct["count"] == 3


def test_a_wrong_secret_on_a_known_prefix_is_refused_and_spends_nothing_of_the_keys_budget(client):
    key, full_key = create_api_key("shop", rate_per_minute=3)
    assert remaining(event(client, full_key)) == (3, 2)
    assert remaining(event(client, full_key)) == (3, 1)
    wrong = f"clk_{key.prefix}_{'x' * 43}"
    refused = event(client, wrong)
    assert refused.status_code == 401
    assert int(refused[LIMIT]) != 3  # counted against the address, as any call without a valid key
    last = event(client, full_key)
    assert (last.status_code, remaining(last)) == (200, (3, 0))
    assert event(client, full_key).status_code == 429


def test_a_key_revoked_after_its_calls_is_refused_at_once_and_not_counted(client):
    key, full_key = create_api_key("shop", rate_per_minute=5)
    assert event(client, full_key).status_code == 200
    assert event(client, full_key).status_code == 200
    revoke_api_key(key)
    assert event(client, full_key).status_code == 401
    assert usage(RequestFactory().get("/"), group="api", value=key.prefix, rate="5/m")["count"] == 3
    assert Event.objects.count() == 2


def test_a_changed_rate_applies_from_the_next_call_and_the_old_count_is_kept(client):
    key, full_key = create_api_key("shop", rate_per_minute=5)
    assert remaining(event(client, full_key)) == (5, 4)
    assert remaining(event(client, full_key)) == (5, 3)
    key.rate_per_minute = 10
    key.save(update_fields=["rate_per_minute"])  # drops the cached record, as any save
    # django-ratelimit counts each rate apart: a new rate starts its own count.
    assert remaining(event(client, full_key)) == (10, 9)
    assert remaining(event(client, full_key)) == (10, 8)
    at_the_old_rate = usage(RequestFactory().get("/"), group="api", value=key.prefix, rate="5/m")
    assert at_the_old_rate["count"] == 3  # the two calls before, and this look
