"""App Inbox through the web SDK (/sdk/v1/inbox…, Clarion.inbox()): a browser reads, marks
read and deletes the items of the person it was identified as, with the identity's hash;
never another person's, an anonymous browser's, or without the hash."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import InboxItem
from segments.actions.sdk import identify_browser
from segments.models import Device, Profile, Site

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
ADA_BROWSER = "ada00000-1111-4222-8333-444455556666"
BOB_BROWSER = "b0b00000-1111-4222-8333-444455556666"
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTENT = {
    "title": "Hello {{ profile.name }}",
    "body": "<img src=x onerror=alert(1)>",
    "inbox": {"ttl": 86400, "tags": ["news"]},
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=[ORIGIN])


@pytest.fixture
def sdk(client, site):
    """sdk("inbox", identity="ada") -> the response; the identity signed unless a hash is given."""

    def call(endpoint, *, client_id=ADA_BROWSER, origin=ORIGIN, **fields):
        if isinstance(fields.get("identity"), str):
            fields.setdefault("identityHash", site.identity_hash(fields["identity"]))
        body = json.dumps({"siteKey": site.key, "clientId": client_id, **fields})
        return client.post(f"/sdk/v1/{endpoint}", body, content_type="text/plain", headers={"Origin": origin})

    return call


def identified(client_id, identity):
    return identify_browser(client_id, identity, vouched=True).profile


def copied(*people):
    """One started web push dispatch with an inbox copy, to each of ``people``' web devices."""
    dispatch = do_create_dispatch(channel="web_push", label="News", contents={"A": CONTENT})
    rows = [(p.pk, d.pk, "A") for p in people for d in Device.objects.filter(profile=p)]
    do_enqueue(dispatch, rows)
    do_start(dispatch)
    return {item.profile_id: item for item in InboxItem.objects.filter(dispatch=dispatch)}


def test_an_identified_browser_reads_marks_and_deletes_its_own_inbox(sdk):
    ada = identified(ADA_BROWSER, "ada")
    Profile.objects.filter(pk=ada.pk).update(name="Ada")
    item = copied(ada)[ada.pk]

    listing = sdk("inbox", identity="ada")
    assert listing.status_code == 200, listing.content
    assert listing["Access-Control-Allow-Origin"] == ORIGIN
    body = listing.json()
    assert body["unread"] == 1 and body["total"] == 1
    [shown] = body["items"]
    assert shown["id"] == item.pk and shown["title"] == "Hello Ada" and shown["tags"] == ["news"]
    assert shown["body"] == "<img src=x onerror=alert(1)>"  # plain text: the SDK inserts it as text
    assert shown["expires_at"] == (NOW + timedelta(days=1)).isoformat()

    read = sdk("inbox/read", identity="ada", id=item.pk)
    assert read.status_code == 200 and read.json()["read"] is True
    assert sdk("inbox", identity="ada").json()["unread"] == 0

    assert sdk("inbox/delete", identity="ada", id=item.pk).json() == {"deleted": True}
    assert sdk("inbox", identity="ada").json()["items"] == []
    assert sdk("inbox/delete", identity="ada", id=item.pk).status_code == 404


def test_a_browser_never_reads_another_persons_inbox(sdk, site):
    ada = identified(ADA_BROWSER, "ada")
    bob = identified(BOB_BROWSER, "bob")
    items = copied(ada, bob)

    # Ada's browser asking for Bob's inbox, even with Bob's valid hash: refused.
    refused = sdk("inbox", identity="bob")
    assert refused.status_code == 403
    assert "identify()" in refused.json()["detail"]
    # Without the hash, or with a wrong one, for her own inbox: refused.
    assert sdk("inbox", identity="ada", identityHash=site.identity_hash("bob")).status_code == 403
    assert sdk("inbox", identity="ada", identityHash="0" * 64).status_code == 403
    missing = sdk("inbox", identity=None)
    assert missing.status_code == 400
    # Bob's item through Ada's own inbox: a 404, and it stays unread.
    assert sdk("inbox/read", identity="ada", id=items[bob.pk].pk).status_code == 404
    assert sdk("inbox/delete", identity="ada", id=items[bob.pk].pk).status_code == 404
    bobs = InboxItem.objects.get(pk=items[bob.pk].pk)
    assert bobs.read_at is None and bobs.deleted_at is None


def test_an_anonymous_or_unknown_browser_gets_nothing(sdk, site):
    ada = identified(ADA_BROWSER, "ada")
    copied(ada)
    # A browser never identified as Ada (a new client id) with Ada's hash: refused.
    assert sdk("inbox", identity="ada", client_id="c0ffee00-1111-4222-8333-444455556666").status_code == 403
    # The anonymous identity itself is not an identity a client may name.
    assert sdk("inbox", identity=f"anon:{ADA_BROWSER}").status_code == 400


def test_the_inbox_endpoints_check_the_origin_and_bound_their_input(sdk):
    identified(ADA_BROWSER, "ada")
    assert sdk("inbox", identity="ada", origin="https://evil.example").status_code == 403
    assert sdk("inbox", identity="ada", limit=51).status_code == 400
    assert sdk("inbox", identity="ada", offset=-1).status_code == 400
    assert sdk("inbox/read", identity="ada", id=2**63).status_code == 400
    assert sdk("inbox/read", identity="ada", id="1; drop").status_code == 400
    assert sdk("inbox/read", identity="ada").status_code == 400
