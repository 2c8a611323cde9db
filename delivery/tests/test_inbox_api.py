"""App Inbox through the JSON API: a push campaign with "Send a copy to App Inbox" leaves one
item per person when its run starts (none without it); GET /api/v1/profiles/{identity}/inbox
lists them rendered for the person, newest first, with the unread count; read and delete
act on the person's own items only (another's is a 404); expired items disappear; the
campaign's stats count inbox views and the boost next to "Amplified"."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db.models import Q

from accounts import roles
from campaigns.actions import ab, runs
from campaigns.models import CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from campaigns.tests.test_api_send import api_campaign
from delivery import counts
from delivery.actions import inbox
from delivery.models import Dispatch, InboxItem, Message
from segments.actions.keys import create_api_key
from segments.models import Device
from stats import reports

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
INBOX = {
    "title": "{{ profile.first_name | default: 'Friend' }}, your coupon",
    "title_color": "#112233",
    "body_color": "#445566",
    "background_color": "#fafafa",
    "tags": ["offers", "spring"],
    "ttl": 2 * 24 * 3600,
}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(client, db):
    _, token = create_api_key("app", rate_per_minute=1_000_000)

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {token}"}
        return getattr(client, method)(f"/api/v1{path}", headers=headers, **kwargs)

    return call


def started_run(make_user, people, *, inbox_section=INBOX, body="<b>50%</b> off for {{ profile.city }}"):
    content = {"title": "Spring sale", "body": body}
    if inbox_section is not None:
        content["inbox"] = inbox_section
    campaign = make_campaign(make_user(roles.MARKETER), variants=[{"content": content}], status="scheduled")
    return runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)


def test_a_run_with_the_option_copies_once_per_person_and_one_without_makes_none(clock, make_user):
    ada, bob = audience(2, city="Lyon")
    Device.objects.create(
        profile=ada, platform="web", endpoint="https://push.example/ada-2", push_status=Device.PushStatus.ALLOWED
    )
    run = started_run(make_user, [ada, bob])
    assert run.dispatch.messages.count() == 3  # ada has two devices
    items = InboxItem.objects.filter(dispatch=run.dispatch)
    assert sorted(items.values_list("profile_id", flat=True)) == sorted([ada.pk, bob.pk])
    assert {item.expires_at for item in items} == {NOW + timedelta(days=2)}

    plain = started_run(make_user, [], inbox_section=None)
    assert plain.dispatch.messages.exists()
    assert not InboxItem.objects.filter(dispatch=plain.dispatch).exists()

    # A second start of the same dispatch adds nothing.
    assert inbox.do_copy_to_inbox(run.dispatch) == 0


def test_the_inbox_lists_the_persons_items_rendered_newest_first_with_the_unread_count(clock, make_user, api):
    [ada] = audience(1, city="Lyon", name="Ada Lovelace")
    first = started_run(make_user, [ada])
    clock.shift(timedelta(minutes=5))
    second = started_run(make_user, [ada], inbox_section={**INBOX, "title": ""})

    response = api("get", f"/profiles/{ada.identity}/inbox")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unread"] == 2 and body["total"] == 2
    newest, oldest = body["items"]
    assert newest["id"] == InboxItem.objects.get(dispatch=second.dispatch).pk
    assert newest["title"] == "Spring sale"  # no inbox title: the push's
    assert oldest["id"] == InboxItem.objects.get(dispatch=first.dispatch).pk
    assert oldest["title"] == "Ada, your coupon"
    # Plain text, rendered with the same renderer as the push: nothing escaped, nothing interpreted.
    assert oldest["body"] == "<b>50%</b> off for Lyon"
    assert oldest["title_color"] == "#112233" and oldest["background_color"] == "#fafafa"
    assert oldest["tags"] == ["offers", "spring"]
    assert oldest["read"] is False
    assert response["X-RateLimit-Limit"]

    # Paginated, bounded.
    page = api("get", f"/profiles/{ada.identity}/inbox?limit=1&offset=1").json()
    assert [item["id"] for item in page["items"]] == [oldest["id"]] and page["total"] == 2
    assert api("get", f"/profiles/{ada.identity}/inbox?limit=51").status_code == 400
    assert api("get", f"/profiles/{ada.identity}/inbox?offset=-1").status_code == 400


def test_the_text_is_kept_as_first_rendered(clock, make_user, api):
    [ada] = audience(1, city="Lyon")
    started_run(make_user, [ada])
    assert api("get", f"/profiles/{ada.identity}/inbox").json()["items"][0]["body"].endswith("Lyon")
    ada.city = "Paris"
    ada.save(update_fields=["city"])
    assert api("get", f"/profiles/{ada.identity}/inbox").json()["items"][0]["body"].endswith("Lyon")


def test_read_marks_once_and_delete_hides_the_item(clock, make_user, api):
    [ada] = audience(1)
    run = started_run(make_user, [ada])
    item = InboxItem.objects.get(dispatch=run.dispatch)
    path = f"/profiles/{ada.identity}/inbox/{item.pk}"

    read = api("post", f"{path}/read")
    assert read.status_code == 200, read.content
    assert read.json()["read"] is True and read.json()["read_at"] == NOW.isoformat().replace("+00:00", "Z")
    clock.shift(timedelta(minutes=1))
    again = api("post", f"{path}/read").json()
    assert again["read_at"] == read.json()["read_at"]  # the first read stands
    assert api("get", f"/profiles/{ada.identity}/inbox").json()["unread"] == 0

    assert api("delete", path).status_code == 204
    listing = api("get", f"/profiles/{ada.identity}/inbox").json()
    assert listing["items"] == [] and listing["total"] == 0
    assert api("delete", path).status_code == 404
    assert api("post", f"{path}/read").status_code == 404


def test_another_persons_item_is_a_404_and_stays_untouched(clock, make_user, api):
    ada, bob = audience(2)
    run = started_run(make_user, [ada, bob])
    bobs = InboxItem.objects.get(dispatch=run.dispatch, profile=bob)

    assert api("post", f"/profiles/{ada.identity}/inbox/{bobs.pk}/read").status_code == 404
    assert api("delete", f"/profiles/{ada.identity}/inbox/{bobs.pk}").status_code == 404
    bobs.refresh_from_db()
    assert bobs.read_at is None and bobs.deleted_at is None
    assert api("get", "/profiles/nobody/inbox").status_code == 404
    assert api("post", f"/profiles/{ada.identity}/inbox/{2**63}/read").status_code == 400
    assert api("post", f"/profiles/{ada.identity}/inbox/0/read").status_code == 400


def test_expired_items_disappear_and_the_sweep_empties_them(clock, make_user, api):
    [ada] = audience(1)
    run = started_run(make_user, [ada], inbox_section={**INBOX, "ttl": 3600})
    item = InboxItem.objects.get(dispatch=run.dispatch)
    assert api("get", f"/profiles/{ada.identity}/inbox").json()["total"] == 1

    clock.shift(timedelta(hours=1))

    assert api("get", f"/profiles/{ada.identity}/inbox").json() == {
        "items": [],
        "unread": 0,
        "total": 0,
        "limit": 20,
        "offset": 0,
    }
    assert api("post", f"/profiles/{ada.identity}/inbox/{item.pk}/read").status_code == 404
    assert inbox.do_sweep_expired() == (1, 0)
    item.refresh_from_db()
    assert (item.title, item.body) == ("", "")
    # Kept for the counts until the dispatch's messages are pruned, then deleted.
    Dispatch.objects.filter(pk=run.dispatch_id).update(pruned_at=NOW)
    assert inbox.do_sweep_expired() == (0, 1)
    assert not InboxItem.objects.exists()


def test_a_liquid_error_for_one_person_leaves_their_item_out(clock, make_user, api):
    [ada] = audience(1)
    started_run(make_user, [ada], inbox_section={**INBOX, "title": "{{ profile.name | bogus_filter }}"})
    listing = api("get", f"/profiles/{ada.identity}/inbox").json()
    assert listing["items"] == [] and listing["total"] == 0


def test_the_boost_counts_people_the_inbox_reached_before_the_push(clock, make_user, api, client):
    ada, bob, cy, dee = audience(4)
    run = started_run(make_user, [ada, bob, cy, dee])
    messages = {m.profile_id: m for m in run.dispatch.messages.all()}
    Message.objects.filter(pk=messages[bob.pk].pk).update(rendered_at=NOW)  # bob saw the push
    Message.objects.filter(pk=messages[dee.pk].pk).update(amplified_at=NOW)  # dee's was sent again
    items = {item.profile_id: item for item in InboxItem.objects.filter(dispatch=run.dispatch)}
    clock.shift(timedelta(minutes=10))
    for person in (ada, bob):  # both open it; only ada had not seen the push
        assert api("post", f"/profiles/{person.identity}/inbox/{items[person.pk].pk}/read").status_code == 200

    found = counts.inbox(Q(dispatch=run.dispatch))
    assert (found.copies, found.views, found.boosted) == (4, 2, 1)
    assert found.boost_percent(amplified=1) == 20.0  # 1 of 4 copies + 1 resend

    numbers = reports.totals(run.campaign)
    assert (numbers.inbox_copies, numbers.inbox_views, numbers.inbox_boosted, numbers.amplified) == (4, 2, 1, 1)
    assert numbers.inbox_boost == 20.0
    client.force_login(make_user(roles.VIEWER))
    page = client.get(f"/stats/campaigns/{run.campaign.pk}/").content.decode()
    assert 'data-count="inbox_views"' in page and 'data-count="inbox_boost"' in page
    assert "20.0 %" in page
    csv = client.get(f"/stats/campaigns/{run.campaign.pk}/summary.csv").content.decode()
    assert "inbox_views,2" in csv and "inbox_boost,1" in csv and "inbox_boost_percent,20.00" in csv


def test_the_openapi_document_describes_the_inbox(client):
    paths = json.loads(client.get("/api/openapi.json").content)["paths"]
    listing = paths["/api/v1/profiles/{identity}/inbox"]["get"]
    assert {"200", "404", "401", "429"} <= set(listing["responses"])
    assert {p["name"] for p in listing["parameters"]} >= {"identity", "limit", "offset"}
    assert "post" in paths["/api/v1/profiles/{identity}/inbox/{item_id}/read"]
    assert "delete" in paths["/api/v1/profiles/{identity}/inbox/{item_id}"]


def test_an_api_triggered_send_copies_with_its_data(clock, api):
    [ada] = audience(1)
    campaign = api_campaign()
    campaign.variants.update(
        content={"title": "Order {{ data.order_id }}", "body": "Confirmed", "inbox": {"ttl": 3600}}
    )
    response = api(
        "post",
        f"/campaigns/{campaign.pk}/send",
        data=json.dumps({"to": [ada.identity], "data": {"order_id": "A-1001"}}),
        content_type="application/json",
    )
    assert response.json()["results"][0]["status"] == "queued", response.content
    [item] = api("get", f"/profiles/{ada.identity}/inbox").json()["items"]
    assert item["title"] == "Order A-1001"


def test_an_ab_tests_rest_gets_its_copies_in_the_winners_words_when_the_winner_is_known(clock, make_user):
    audience(12)
    variants = [{"content": {"title": f"Variant {name}", "body": "Sale", "inbox": {"ttl": 86400}}} for name in "AB"]
    campaign = make_campaign(
        make_user(roles.MARKETER),
        message_type="ab",
        ab_mode="count",
        ab_test_size=4,
        ab_test_minutes=240,
        variants=variants,
        status="scheduled",
    )
    run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)
    assert InboxItem.objects.filter(dispatch=run.dispatch).count() == 4
    assert not InboxItem.objects.filter(dispatch=run.remainder).exists()  # the winner is not known yet

    clock.shift(timedelta(hours=4))
    [finished] = ab.do_finish_ab_tests()

    rest = InboxItem.objects.filter(dispatch=run.remainder)
    assert rest.count() == 8
    assert set(rest.values_list("variant", flat=True)) == {finished.winner}
    assert counts.inbox(Q(dispatch__in=[run.dispatch_id, run.remainder_id])).copies == 12
