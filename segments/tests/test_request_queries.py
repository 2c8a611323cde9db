"""What one request costs the database: the web SDK's calls and a single event through
the API, counted as the test client sends them (bench/sdk.py measures the rate).

The rate limit and the cached look-ups (site by publishable key, API key by prefix) live
in the cache: Redis in production, a database table in the embedded mode. Only the
statements of the request's own work are counted here: not the cache table's, and not
BEGIN, COMMIT and savepoints (a test runs inside a transaction of its own, so they
differ from production's)."""

import json

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.test_ratelimit import round_trips  # noqa: F401 (a fixture)
from segments.actions.keys import create_api_key, revoke_api_key
from segments.actions.sites import do_allow_origin, do_delete_site, site_for_key
from segments.models import Device, Event, Profile, Site
from segments.tests.test_sdk_endpoints import subscription

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
BROWSER = "c0ffee00-1111-4222-8333-444455556666"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=[ORIGIN])


@pytest.fixture
def counted(client):
    """counted(post) -> (the response, the queries it made beyond the cache's)."""

    def count(send):
        with CaptureQueriesContext(connection) as queries:
            response = send(client)
        statements = [q["sql"] for q in queries.captured_queries if "clarion_cache" not in q["sql"]]
        return response, [sql for sql in statements if not sql.startswith(TRANSACTION_CONTROL)]

    return count


def sdk_call(site, endpoint, origin=ORIGIN, **fields):
    body = json.dumps({"siteKey": site.key, "clientId": BROWSER, **fields})
    return lambda client: client.post(
        reverse(f"sdk:{endpoint}"), body, content_type="text/plain", headers={"Origin": origin}
    )


def identify(site, identity="ada"):
    return sdk_call(site, "identify", identity=identity, identityHash=site.identity_hash(identity))


def event_call(full_key, identity="ada"):
    body = json.dumps({"events": [{"identity": identity, "name": "Viewed", "properties": {"page": "/"}}]})
    headers = {"Authorization": f"Bearer {full_key}"}
    return lambda client: client.post("/api/v1/events", body, content_type="application/json", headers=headers)


def test_a_new_browsers_identify_makes_its_device_on_the_person_without_an_anonymous_profile(site, counted):
    assert site_for_key(site.key) is not None  # the site is cached from an earlier call
    response, queries = counted(identify(site))
    assert response.status_code == 200
    # The device (none yet), then on PostgreSQL the person read or made and the device made
    # in one statement (it was four, with BEGIN and COMMIT); SQLite's ORM path reads the
    # person, inserts it, inserts the device.
    assert len(queries) == (2 if connection.vendor == "postgresql" else 4), queries
    assert Device.objects.get(client_id=BROWSER).profile.identity == "ada"
    assert not Profile.objects.filter(identity__startswith="anon:").exists()


@pytest.mark.skipif(not isinstance(caches["default"], RedisCache), reason="the cache table takes savepoints of its own")
def test_a_new_browsers_identify_takes_no_savepoint_of_its_own(site):
    # The person and the device are inserted unless taken (ON CONFLICT DO NOTHING), not in
    # a savepoint each that catches the IntegrityError of a request racing this one.
    assert site_for_key(site.key) is not None
    with CaptureQueriesContext(connection) as queries:
        assert identify(site)(Client()).status_code == 200
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    # None on PostgreSQL: the person and the device are one statement, in autocommit (BEGIN
    # in production, a savepoint here, before that). There were three before that.
    assert len(savepoints) == (0 if connection.vendor == "postgresql" else 1), savepoints
    assert Device.objects.get(client_id=BROWSER).profile.identity == "ada"


def test_a_page_view_identify_reads_the_device_and_writes_nothing_within_the_minute(site, counted):
    counted(identify(site))
    response, queries = counted(identify(site))
    assert response.status_code == 200
    assert len(queries) == 1, queries  # SELECT … FOR UPDATE of the device and its person
    assert not any(q.startswith(("UPDATE", "INSERT", "SAVEPOINT")) for q in queries), queries


def test_a_first_visits_subscription_is_one_statement_and_a_repeat_writes_nothing(site):
    # On PostgreSQL the lock, the takeover and the save are one statement in autocommit (no
    # transaction, so no savepoint here); SQLite's ORM path locks, takes over and saves.
    # It was the ORM path's three on both, with BEGIN and COMMIT: five round trips.
    client = Client()
    identify(site)(client)
    for repeat in (False, True):
        with CaptureQueriesContext(connection) as captured:
            response = sdk_call(site, "subscriptions", subscription=subscription())(client)
        assert response.status_code == 200
        assert response.json() == {"push_status": "allowed"}
        queries = [q["sql"] for q in captured.captured_queries if "clarion_cache" not in q["sql"]]
        if connection.vendor == "postgresql":
            assert len(queries) == 1, queries
        else:
            writes = [q for q in queries if q.lstrip().startswith("UPDATE")]
            assert len(writes) == (0 if repeat else 2), queries
    assert Device.objects.get(client_id=BROWSER).push_status == "allowed"


def test_a_single_event_is_one_statement(counted, django_capture_on_commit_callbacks):
    _, full_key = create_api_key("shop", rate_per_minute=1000)
    Profile.objects.create(identity="ada")
    with django_capture_on_commit_callbacks(execute=True):
        # The key's first use is noted (last_used_at), the profile seen, the property registered.
        counted(event_call(full_key))
    response, queries = counted(event_call(full_key))
    assert response.status_code == 200
    # The profile read, the event inserted (and the profile marked seen) in one statement on
    # PostgreSQL; SQLite's ORM reads the profile, then inserts.
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2), queries
    assert Event.objects.filter(profile__identity="ada").count() == 2


def test_a_revoked_key_is_refused_at_once_though_it_was_cached(counted):
    key, full_key = create_api_key("shop", rate_per_minute=1000)
    assert counted(event_call(full_key))[0].status_code == 200
    revoke_api_key(key)
    assert counted(event_call(full_key))[0].status_code == 401
    assert Event.objects.filter(profile__identity="ada").count() == 1


def test_a_deleted_site_and_a_new_origin_apply_at_once_though_the_site_was_cached(site, counted):
    other = "https://blog.example.com"
    assert counted(identify(site))[0].status_code == 200
    assert counted(sdk_call(site, "status", origin=other, status="ask"))[0].status_code == 403
    do_allow_origin(site, other, user=None)
    assert counted(sdk_call(site, "status", origin=other, status="ask"))[0].status_code == 200
    do_delete_site(site, user=None)
    assert counted(identify(site))[0].status_code == 403


def test_a_cached_site_keeps_its_identity_secret_encrypted(site, counted):
    from django.core.cache import cache

    from segments.actions.sites import _site_cache_key

    counted(identify(site))
    cached = cache.get(_site_cache_key(site.key))
    assert cached is not None
    assert site.identity_secret not in json.dumps(cached, default=str)


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="counts Redis round trips (CACHE_URL=redis://…)"
)
def test_a_page_view_asks_redis_twice_the_site_and_the_rate_limit(site, counted, round_trips):  # noqa: F811
    counted(identify(site))
    round_trips.clear()
    assert counted(identify(site))[0].status_code == 200
    # The site (cached by key), the rate limit's INCR and EXPIRE in one pipeline (add then incr was two).
    assert len(round_trips) == 2, round_trips


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="counts Redis round trips (CACHE_URL=redis://…)"
)
def test_a_single_event_asks_the_cache_once_the_key_and_the_rate_limit_together(counted, round_trips):  # noqa: F811
    _, full_key = create_api_key("shop", rate_per_minute=1000)
    Profile.objects.create(identity="ada")
    counted(event_call(full_key))
    round_trips.clear()
    assert counted(event_call(full_key))[0].status_code == 200
    # The key (cached by prefix) and the rate limit's count in one pipeline, the key's rate
    # known from the first call (it was two round trips); whether its use this minute is
    # noted was asked by the first call and is not again for a few seconds.
    asked = [trip for trip in round_trips if b"LPUSH" not in trip[0]]  # the broker's fan-out message
    assert len(asked) == 1, asked
