"""The public edge answers malformed input with a 4xx, never a 5xx: the web SDK's endpoints
(/sdk/v1/*, site key public), the click links (/stats/r/<token>) and the API's path
parameters. Each attack seen in the wild is a case of its own with the exact answer; then
hypothesis throws generated bodies at every endpoint (NUL, lone surrogates, huge and deep
JSON, huge numbers, wrong types, empty bodies, bytes that are not UTF-8), a bounded number
of examples each so the suite stays fast. The API's bodies are fuzzed by schemathesis
(segments/tests/test_api_schema.py)."""

import hashlib
import hmac
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign, Variant
from campaigns.onboarding import EVENTS
from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import InboxItem
from segments.actions.keys import create_api_key
from segments.actions.sdk import identify_browser
from segments.models import Site
from stats.links import click_token

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
CLIENT = "c0ffee00-1111-4222-8333-444455556666"
NUL = "contains a NUL character (U+0000)"
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    settings.SDK_RATE_LIMIT = "1000000/m"  # a fuzz run is many calls from one address
    settings.API_ANONYMOUS_RATE_LIMIT = "1000000/m"


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=[ORIGIN])


@pytest.fixture
def post(client, site):
    """post("events", body) with body a dict (the site key and client id added unless
    given), or str / bytes sent as they are."""

    def call(endpoint, body):
        if isinstance(body, dict):
            if endpoint == "identify" and body.get("identityHash") is None and isinstance(body.get("identity"), str):
                body = {**body, "identityHash": signed(site, body["identity"])}  # as the site's server would
            body = json.dumps({"siteKey": site.key, "clientId": CLIENT, **body})
        return client.post(f"/sdk/v1/{endpoint}", body, content_type="text/plain", headers={"Origin": ORIGIN})

    return call


def signed(site, identity):
    secret = site.identity_secret.encode()
    return hmac.new(secret, identity.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


@pytest.fixture
def api(client):
    _, key = create_api_key("fuzz", rate_per_minute=1_000_000)

    def call(method, path):
        return getattr(client, method)(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"})

    return call


def fields_of(response):
    return {error["field"]: error["reason"] for error in response.json()["errors"]}


# The attacks, each with its exact answer.


def test_an_event_name_with_nul_is_a_400_naming_it(post):
    response = post("events", {"name": "a\u0000b"})
    assert response.status_code == 400
    assert fields_of(response) == {"name": NUL}


def test_an_event_property_with_nul_is_a_400_naming_it(post):
    response = post("events", {"name": "Viewed", "properties": {"colour": "re\u0000d"}})
    assert response.status_code == 400
    assert fields_of(response) == {"properties.colour": NUL}
    response = post("events", {"name": "Viewed", "properties": {"col\u0000our": "red"}})
    assert response.status_code == 400
    assert fields_of(response) == {"properties": "a name " + NUL}


def test_an_engagement_action_with_nul_is_a_400_naming_it(post):
    response = post("engagements", {"message_id": "12", "kind": "clicked", "action": "bu\u0000y"})
    assert response.status_code == 400
    assert fields_of(response) == {"action": NUL}


def test_an_identity_or_site_key_with_nul_is_a_400(post, site):
    response = post("identify", {"identity": "ad\u0000a"})
    assert (response.status_code, fields_of(response)) == (400, {"identity": NUL})
    response = post("status", {"siteKey": site.key + "\u0000", "status": "allowed"})
    assert (response.status_code, fields_of(response)) == (400, {"siteKey": NUL})


def test_a_lone_surrogate_is_a_400_naming_its_field(post):
    response = post("events", {"name": "Viewed", "properties": {"note": "\ud800"}})
    assert (response.status_code, fields_of(response)) == (
        400,
        {"properties.note": "contains an unpaired UTF-16 surrogate"},
    )


def test_a_profile_path_with_nul_is_a_400_naming_it(api):
    response = api("get", "/profiles/%00x")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": None, "field": "path.identity", "reason": NUL}]


def test_a_device_path_with_nul_is_a_400_naming_it(api):
    response = api("delete", "/devices/android/tok%00en12345")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": None, "field": "path.token", "reason": NUL}]


def test_a_popup_page_address_with_nul_is_a_400_naming_it(post):
    response = post("popups", {"url": ORIGIN + "/\u0000"})
    assert (response.status_code, fields_of(response)) == (400, {"url": NUL})


# Generated input: whatever comes, a 4xx or a 2xx.

HUGE_NUMBERS = st.sampled_from([10**400, -(10**400), 2**63, 2**64 + 1, 10**16, 1e308, -1e308, 5e-324])
NASTY = ["", "a\x00b", "\x00", "\ud800", "x\udfffy", "a\x00\udc00", "٣", "1e400", "NaN", "x" * 3000]
# Branches are drawn about equally: the known-bad text and numbers come twice, so that
# each endpoint's fields get them in most runs of 100 examples, not once in a while.
NASTY_TEXT = st.one_of(st.sampled_from(NASTY), st.sampled_from(NASTY), st.text(max_size=30))
LEAVES = st.one_of(
    NASTY_TEXT, NASTY_TEXT, HUGE_NUMBERS, st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False)
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NASTY_TEXT, inner, max_size=4)),
    max_leaves=12,
)
RAW_BODIES = st.one_of(
    st.binary(max_size=100),
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b"[]",
            b'"text"',
            b"\xff\xfe{}",
            b'{"siteKey": "\xc3\x28"}',
            b"[" * 50_000 + b"]" * 50_000,
            b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
            b'{"x": "' + b"y" * 70_000 + b'"}',
            b'{"n": 1' + b"0" * 5_000 + b"}",
            b'{"n": NaN}',
        ]
    ),
)
KEYS = {
    "p256dh": "BAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
    "auth": "AAECAwQFBgcICQoLDA0ODw",
}
# A body each endpoint accepts; generated fields replace some of it, so the examples reach
# past "field required" into the actions.
ENDPOINTS = {
    "identify": {"identity": "ada", "profile": {"name": "Ada"}, "identityHash": None, "browser": "firefox"},
    "events": {"name": "Viewed", "properties": {"price": 1}, "browser": ""},
    "subscriptions": {"subscription": {"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": KEYS}},
    "status": {"status": "allowed", "browser": "chrome"},
    "engagements": {"message_id": "1", "kind": "viewed", "action": ""},
    "popups": {"url": ORIGIN + "/", "referrer": "", "pageCount": 1},
    "onboarding": {"status": "ask", "browser": "chrome"},
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_fuzzed_bodies_start_from_one_each_endpoint_accepts(post, endpoint):
    assert post(endpoint, ENDPOINTS[endpoint]).status_code == 200


def bodies(endpoint):
    """The endpoint's good body with some of its fields (or the shared ones) set to anything."""
    names = st.sampled_from([*ENDPOINTS[endpoint], "siteKey", "clientId", "unknown"])
    return st.dictionaries(names, JSON_VALUES, min_size=1, max_size=3).map(
        lambda fields: {**ENDPOINTS[endpoint], **fields}
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_sdk_endpoints_answer_generated_bodies_without_a_server_error(post, endpoint):
    @FUZZ
    @given(body=bodies(endpoint))
    def check(body):
        response = post(endpoint, body)
        assert response.status_code < 500, (body, response.content)

    check()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_sdk_endpoints_answer_raw_bytes_without_a_server_error(post, endpoint):
    @FUZZ
    @given(body=RAW_BODIES)
    def check(body):
        response = post(endpoint, body)
        assert 400 <= response.status_code < 500, (body[:100], response.content)

    check()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_sdk_endpoints_refuse_deep_and_huge_json_with_a_4xx(post, site, endpoint):
    start = f'{{"siteKey": "{site.key}", "clientId": "{CLIENT}", '
    for levels in (200, 900, 5000):  # under and over Python's recursion limit
        assert (
            400
            <= post(endpoint, start + '"properties": ' + '{"a": ' * levels + "1" + "}" * levels + "}").status_code
            < 500
        )
        assert 400 <= post(endpoint, start + '"profile": ' + "[" * levels + "]" * levels + "}").status_code < 500
    for body in ({"name": "x" * 60_000}, {"pageCount": 10**400}, {"message_id": 10**400}, {"identity": "1" * 300}):
        assert 400 <= post(endpoint, body).status_code < 500


@FUZZ
@given(token=st.one_of(st.text(max_size=200), NASTY_TEXT))
def test_click_links_answer_any_token_without_a_server_error(client, token):
    response = client.get("/stats/r/" + quote(token.encode("utf-8", "surrogatepass"), safe=""))
    assert response.status_code < 500


def test_a_click_link_for_a_message_that_does_not_exist_is_not_a_server_error(client):
    response = client.get("/stats/r/" + click_token(10**12, "https://shop.example.com/sale"))
    assert response.status_code < 500


@FUZZ
@given(identity=st.one_of(st.text(max_size=300), NASTY_TEXT), token=NASTY_TEXT)
def test_api_path_parameters_answer_anything_without_a_server_error(api, identity, token):
    quoted = quote(identity.encode("utf-8", "surrogatepass"), safe="")
    assert api("get", f"/profiles/{quoted}").status_code < 500
    quoted = quote(token.encode("utf-8", "surrogatepass"), safe="")
    assert api("delete", f"/devices/android/{quoted or 'x'}").status_code < 500


@pytest.mark.parametrize("path", ["/profiles", "/events", "/devices", "/engagement"])
def test_api_bodies_that_are_not_json_or_too_deep_are_a_4xx(client, path):
    _, key = create_api_key("raw", rate_per_minute=1_000_000)
    headers = {"Authorization": f"Bearer {key}"}
    for body in [b"", b"\xff\xfe{}", b"[" * 50_000 + b"]" * 50_000, b'{"n": 1' + b"0" * 5_000 + b"}", b'{"n": NaN}']:
        response = client.post(f"/api/v1{path}", body, content_type="application/json", headers=headers)
        assert 400 <= response.status_code < 500, (body[:20], response.content)


@FUZZ
@given(token=NASTY_TEXT)
def test_any_bearer_token_is_a_401_not_a_server_error(client, token):
    response = client.get("/api/v1/profiles/x", headers={"Authorization": f"Bearer clk_{token}_{token}"})
    assert response.status_code == 401


# An API-triggered campaign's send (campaigns/api.py): a key holder's body, header and path.

SEND = {"to": ["ada"], "data": {"order_id": "A-1"}}


@pytest.fixture
def send_api(client):
    """send(body, idempotency_key=None, campaign=None) against a running API-triggered campaign."""
    from campaigns.actions import lifecycle
    from campaigns.models import Campaign, Variant

    _, key = create_api_key("fuzz send", rate_per_minute=1_000_000)
    campaign = Campaign.objects.create(
        name="Fuzzed", channel="web_push", kind="api_triggered", steps_done=["who", "when", "what", "setup"]
    )
    Variant.objects.create(campaign=campaign, content={"title": "{{ data.order_id }}", "body": "Hi"})
    lifecycle.do_schedule(campaign, user=None, send_anyway=True)

    def call(body, idempotency_key=None, path=None):
        headers = {"Authorization": f"Bearer {key}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        url = f"/api/v1/campaigns/{path or campaign.pk}/send"
        return client.post(url, raw, content_type="application/json", headers=headers)

    return call


def test_the_fuzzed_send_bodies_start_from_one_it_accepts(send_api):
    assert send_api(SEND).status_code == 200


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["to", "data", "unknown"]), JSON_VALUES, min_size=1, max_size=2))
def test_the_send_endpoint_answers_generated_bodies_without_a_server_error(send_api, fields):
    body = {**SEND, **fields}
    response = send_api(body)
    assert response.status_code < 500, (body, response.content)


@FUZZ
@given(data=st.dictionaries(NASTY_TEXT, JSON_VALUES, max_size=4), to=st.lists(NASTY_TEXT, max_size=4))
def test_the_send_endpoint_answers_generated_identities_and_data_without_a_server_error(send_api, data, to):
    response = send_api({"to": to, "data": data})
    assert response.status_code < 500, (to, data, response.content)


@FUZZ
@given(body=RAW_BODIES)
def test_the_send_endpoint_answers_raw_bytes_with_a_4xx(send_api, body):
    response = send_api(body)
    assert 400 <= response.status_code < 500, (body[:100], response.content)


def test_the_send_endpoint_refuses_deep_and_huge_data_with_a_4xx(send_api):
    for levels in (6, 200, 900, 5000):
        deep = '{"to": ["ada"], "data": ' + '{"a": ' * levels + "1" + "}" * levels + "}"
        assert 400 <= send_api(deep).status_code < 500, levels
    for data in ({"x": "y" * 20_000}, {"n": 10**400}, {"list": list(range(5000))}, {"": 1}, {"k" * 101: 1}):
        assert send_api({"to": ["ada"], "data": data}).status_code == 400
    assert send_api({"to": ["a"] * 1001}).status_code == 400


@FUZZ
@given(key=st.one_of(NASTY_TEXT, st.text(min_size=250, max_size=300)))
def test_the_send_endpoint_answers_any_idempotency_key_without_a_server_error(send_api, key):
    response = send_api(SEND, idempotency_key=key)
    assert response.status_code in (200, 400), (key, response.content)


@pytest.mark.parametrize("path", ["0", "-1", "99999999999999999999999", "9223372036854775808", "x", "1%00"])
def test_the_send_endpoints_path_answers_anything_with_a_4xx(send_api, path):
    assert 400 <= send_api(SEND, path=path).status_code < 500


# App Inbox (/sdk/v1/inbox…, /api/v1/profiles/{identity}/inbox…): a browser identified as Ada
# with one item; generated bodies and paths never reach a 5xx, and never another's items.


@pytest.fixture
def inbox_item(site):
    device = identify_browser(CLIENT, "ada", vouched=True)
    dispatch = do_create_dispatch(channel="web_push", label="News", contents={"A": {"title": "Hi", "inbox": {}}})
    do_enqueue(dispatch, [(device.profile_id, device.pk, "A")])
    do_start(dispatch)
    return InboxItem.objects.get(dispatch=dispatch)


INBOX_ENDPOINTS = ("inbox", "inbox/read", "inbox/delete")


def inbox_body(site, item, endpoint):
    body = {"identity": "ada", "identityHash": signed(site, "ada")}
    if endpoint == "inbox":
        return {**body, "limit": 20, "offset": 0}
    return {**body, "id": item.pk}


@pytest.mark.parametrize("endpoint", INBOX_ENDPOINTS)
def test_the_inbox_endpoints_accept_the_fuzzed_bodies_start(post, site, inbox_item, endpoint):
    assert post(endpoint, inbox_body(site, inbox_item, endpoint)).status_code == 200


@pytest.mark.parametrize("endpoint", INBOX_ENDPOINTS)
def test_the_inbox_endpoints_answer_generated_bodies_without_a_server_error(post, site, inbox_item, endpoint):
    good = inbox_body(site, inbox_item, endpoint)
    names = st.sampled_from([*good, "siteKey", "clientId", "unknown"])

    @FUZZ
    @given(fields=st.dictionaries(names, JSON_VALUES, min_size=1, max_size=3))
    def check(fields):
        response = post(endpoint, {**good, **fields})
        assert response.status_code < 500, (fields, response.content)
        if response.status_code == 200 and endpoint == "inbox":
            assert all(item["id"] == inbox_item.pk for item in response.json()["items"])

    check()


@pytest.mark.parametrize("endpoint", INBOX_ENDPOINTS)
def test_the_inbox_endpoints_answer_raw_bytes_with_a_4xx(post, endpoint):
    @FUZZ
    @given(body=RAW_BODIES)
    def check(body):
        response = post(endpoint, body)
        assert 400 <= response.status_code < 500, (body[:100], response.content)

    check()


@FUZZ
@given(identity=st.one_of(st.text(max_size=300), NASTY_TEXT), item=NASTY_TEXT)
def test_the_inbox_api_paths_answer_anything_without_a_server_error(api, identity, item):
    who = quote(identity.encode("utf-8", "surrogatepass"), safe="") or "x"
    which = quote(item.encode("utf-8", "surrogatepass"), safe="") or "1"
    assert api("get", f"/profiles/{who}/inbox").status_code < 500
    assert api("post", f"/profiles/{who}/inbox/{which}/read").status_code < 500
    assert api("delete", f"/profiles/{who}/inbox/{which}").status_code < 500


@pytest.mark.parametrize("item", ["0", "-1", "9223372036854775808", "99999999999999999999999", "x", "1%00"])
def test_the_inbox_api_item_path_answers_anything_with_a_4xx(api, item):
    assert 400 <= api("post", f"/profiles/ada/inbox/{item}/read").status_code < 500
    assert 400 <= api("delete", f"/profiles/ada/inbox/{item}").status_code < 500


# Soft onboarding's report (campaigns/onboarding.py): a prompt given to CLIENT by a running
# Push permission request, then anything in its place.


@pytest.fixture
def prompt_key(post):
    campaign = Campaign.objects.create(
        name="Opt-in",
        channel=Campaign.Channel.PERMISSION_REQUEST,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=Campaign.Status.RUNNING,
    )
    Variant.objects.create(campaign=campaign, content={"title": "News?", "later_days": 3})
    return post("onboarding", {"status": "ask"}).json()["prompt"]["prompt"]


def test_the_onboarding_report_accepts_the_fuzzed_bodies_start(post, prompt_key):
    assert post("onboarding/report", {"prompt": prompt_key, "event": "later"}).json() == {"recorded": True}


def test_the_onboarding_report_answers_generated_bodies_without_a_server_error(post, prompt_key):
    good = {"prompt": prompt_key, "event": "shown"}
    names = st.sampled_from([*good, "siteKey", "clientId", "unknown"])

    @FUZZ
    @given(fields=st.dictionaries(names, st.one_of(JSON_VALUES, st.sampled_from(EVENTS)), min_size=1, max_size=3))
    def check(fields):
        response = post("onboarding/report", {**good, **fields})
        assert response.status_code < 500, (fields, response.content)

    check()


def test_the_onboarding_report_answers_raw_bytes_with_a_4xx(post):
    @FUZZ
    @given(body=RAW_BODIES)
    def check(body):
        response = post("onboarding/report", body)
        assert 400 <= response.status_code < 500, (body[:100], response.content)

    check()
