"""Every answer of the JSON API says where its caller stands against the rate limit
(X-RateLimit-Limit, -Remaining, -Reset): a success, a 4xx, a 429, a call without a key;
and the OpenAPI document says so, with the campaigns' send endpoint and its Idempotency-Key."""

import json

import pytest
from django.core.cache import cache

from segments.actions.keys import create_api_key
from segments.models import ApiKey

pytestmark = pytest.mark.django_db

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()  # the counters of earlier tests from the same address


@pytest.fixture
def key():
    return create_api_key("backend", rate_per_minute=5)


def auth(full):
    return {"Authorization": f"Bearer {full}"}


def figures(response):
    return tuple(int(response[name]) for name in HEADERS)


def test_a_success_carries_the_keys_limit_and_what_is_left(client, key):
    _, full = key
    body = json.dumps({"profiles": [{"identity": "ada"}]})
    first = client.post("/api/v1/profiles", body, content_type="application/json", headers=auth(full))
    second = client.get("/api/v1/profiles/nobody", headers=auth(full))

    assert first.status_code == 200
    limit, remaining, reset = figures(first)
    assert (limit, remaining) == (5, 4)
    # A window ends at a whole second (django-ratelimit jitters which one per key): a call
    # in that second reads 0, the next one is in a new window (failed 1 run in ~60).
    assert 0 <= reset <= 60
    assert figures(second)[:2] == (5, 3)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/v1/profiles/nobody", None, 404),
        ("post", "/api/v1/events", "{", 400),
        ("post", "/api/v1/campaigns/999999/send", '{"to": ["a"]}', 404),
        ("post", "/api/v1/campaigns/1/send", '{"to": []}', 400),
    ],
)
def test_a_4xx_carries_them_too(client, key, method, path, body, status):
    _, full = key
    kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
    response = getattr(client, method)(path, headers=auth(full), **kwargs)
    assert response.status_code == status, response.content
    assert figures(response)[:2] == (5, 4)


def test_a_429_carries_them_with_nothing_left(client, key):
    api_key, full = key
    ApiKey.objects.filter(pk=api_key.pk).update(rate_per_minute=2)
    answers = [client.get("/api/v1/profiles/nobody", headers=auth(full)) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [404, 404, 429]
    assert figures(answers[2])[:2] == (2, 0)
    assert int(answers[2]["Retry-After"]) >= 1


def test_a_call_without_a_valid_key_counts_against_its_address(client, settings):
    settings.API_ANONYMOUS_RATE_LIMIT = "3/m"
    answers = [client.get("/api/v1/profiles/x", headers=auth("clk_00_wrong")) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
    assert [figures(answer)[:2] for answer in answers] == [(3, 2), (3, 1), (3, 0), (3, 0)]
    assert client.get("/api/v1/profiles/x").status_code == 429  # no key at all: the same budget


def test_the_openapi_document_and_the_docs_page_carry_them(client):
    assert all(name in client.get("/api/openapi.json") for name in HEADERS)


def test_the_openapi_document_describes_the_send_endpoint_its_key_and_the_headers(client):
    schema = client.get("/api/openapi.json").json()

    operation = schema["paths"]["/api/v1/campaigns/{campaign_id}/send"]["post"]
    assert {(p["in"], p["name"]) for p in operation["parameters"]} >= {
        ("path", "campaign_id"),
        ("header", "Idempotency-Key"),
    }
    assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]
    assert set(schema["components"]["headers"]) >= set(HEADERS)
    for path in schema["paths"].values():
        for each in path.values():
            for answer in each["responses"].values():
                assert set(answer["headers"]) >= set(HEADERS)
