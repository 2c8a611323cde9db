"""The What step's "Send a copy to App Inbox": its fields save into the variant's ``inbox``
section (web and mobile push), show again from it, and every mistake is a 422 with the error
at its field; unticked, nothing of it is saved."""

import pytest
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_user):
    return do_create_draft(
        name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, owner=make_user()
    )


def url(campaign):
    return reverse("campaigns:what", args=[campaign.pk])


def single(**fields):
    data = {
        "message_type": "single",
        "browsers": "all",
        "variants": ["0"],
        "v0-title": "Hello",
        "v0-body": "The spring sale starts today.",
        "v0-url": "https://shop.example/sale",
    }
    for name, value in fields.items():
        data[f"v0-{name}"] = value
    return data


INBOX = {
    "inbox_copy": "on",
    "inbox_title": "{{ profile.first_name | default: 'Hi' }}, your coupon",
    "inbox_title_color": "#112233",
    "inbox_body_color": "#445566",
    "inbox_background_color": "#FAFAFA",
    "inbox_tags": "offers, spring",
    "inbox_ttl_hours": "48",
}


def test_the_copy_is_saved_in_the_variants_inbox_section_and_shown_again(marketer, campaign):
    response = marketer.post(url(campaign), single(**INBOX))
    assert response.status_code == 303, response.content.decode()[:2000]
    assert campaign.variants.get().content["inbox"] == {
        "title": "{{ profile.first_name | default: 'Hi' }}, your coupon",
        "title_color": "#112233",
        "body_color": "#445566",
        "background_color": "#FAFAFA",
        "tags": ["offers", "spring"],
        "ttl": 48 * 3600,
    }
    page = marketer.get(url(campaign)).content.decode()
    assert 'name="v0-inbox_copy"' in page and 'value="offers, spring"' in page and 'value="48"' in page
    assert "<details open>\n  <summary>App Inbox</summary>" in page


def test_unticked_nothing_of_it_is_saved(marketer, campaign):
    response = marketer.post(url(campaign), single(**{**INBOX, "inbox_copy": ""}))
    assert response.status_code == 303
    assert "inbox" not in campaign.variants.get().content


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("inbox_title_color", "red", "A colour as #rrggbb"),
        ("inbox_background_color", "#12345", "A colour as #rrggbb"),
        ("inbox_ttl_hours", "0", "Keep it at least 1 hour."),
        ("inbox_ttl_hours", "2161", "Keep it at most 90 days (2160 hours)."),
        ("inbox_ttl_hours", "", "Say how long the copy stays in the inbox."),
        ("inbox_tags", ",".join(f"t{i}" for i in range(11)), "At most 10 tags."),
        ("inbox_tags", "ok, <script>", "a tag is up to 30 letters"),
        ("inbox_title", "{{ profile.name ", "Liquid:"),
    ],
)
def test_each_mistake_is_shown_at_its_field(marketer, campaign, field, value, error):
    response = marketer.post(url(campaign), single(**{**INBOX, field: value}))
    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="id_v0-{field}_error">' in page
    assert error in page.split(f'id="id_v0-{field}_error">')[1].split("</p>")[0].replace("&#x27;", "'")
    assert "inbox" not in campaign.variants.get().content


def test_a_copy_of_a_message_with_linked_content_is_refused(marketer, campaign):
    data = single(**INBOX, linked1_name="weather", linked1_url="https://api.example.com/w")
    response = marketer.post(url(campaign), data)
    assert response.status_code == 422
    assert 'id="id_v0-inbox_copy_error">An App Inbox copy cannot use Linked Content' in response.content.decode()


def test_a_mobile_push_has_it_too(marketer, make_user):
    campaign = do_create_draft(
        name="App news", channel=Campaign.Channel.MOBILE_PUSH, kind=Campaign.Kind.ONE_TIME, owner=make_user()
    )
    data = {
        "message_type": "single",
        "variants": ["0"],
        "v0-title": "Hi",
        "v0-body": "News",
        **{f"v0-{name}": value for name, value in INBOX.items()},
    }
    response = marketer.post(url(campaign), data)
    assert response.status_code == 303, response.content.decode()[:2000]
    assert campaign.variants.get().content["inbox"]["ttl"] == 48 * 3600
