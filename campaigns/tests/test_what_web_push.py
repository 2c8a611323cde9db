"""The What step for a web push campaign: a single message, its options, Liquid errors
at the field, the Safari rules, and who may use it."""

import pytest
from django.urls import reverse

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, Variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_user):
    return do_create_draft(
        name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, owner=make_user()
    )


def url(campaign):
    return reverse("campaigns:what", args=[campaign.pk])


def single(**fields):
    """A web push single message, valid as it is, with ``fields`` (v0-…) changed."""
    data = {
        "message_type": "single",
        "browsers": "all",
        "variants": ["0"],
        "v0-title": "Hello {{ profile.first_name | default: 'there' }}",
        "v0-body": "The spring sale starts today.",
        "v0-url": "https://shop.example/sale",
    }
    for name, value in fields.items():
        data[name.replace("__", "-")] = value
    return data


def test_it_shows_the_saved_draft(marketer, campaign):
    Variant.objects.filter(campaign=campaign).update(content={"title": "Saved title", "url": "https://shop.example/"})
    response = marketer.get(url(campaign))
    assert response.status_code == 200
    assert 'value="Saved title"' in response.content.decode()
    assert 'data-suggest-url="' + reverse("campaigns:what_personalise", args=[campaign.pk]) in response.content.decode()


def test_a_valid_single_message_is_saved_and_moves_on_to_setup(marketer, campaign):
    response = marketer.post(
        url(campaign),
        single(
            v0__icon="https://shop.example/icon.png",
            v0__ttl="3600",
            v0__require_interaction="on",
            v0__kv="coupon=GOLD4ALL\nsource = spring",
        ),
    )
    assert response.status_code == 303
    assert response["Location"] == reverse("campaigns:setup", args=[campaign.pk])
    campaign.refresh_from_db()
    assert Campaign.Step.WHAT in campaign.steps_done
    variant = campaign.variants.get()
    assert variant.content == {
        "title": "Hello {{ profile.first_name | default: 'there' }}",
        "body": "The spring sale starts today.",
        "url": "https://shop.example/sale",
        "icon": "https://shop.example/icon.png",
        "ttl": 3600,
        "require_interaction": True,
        "kv": {"coupon": "GOLD4ALL", "source": "spring"},
    }


def test_a_missing_title_is_refused_with_the_error_at_the_field_and_nothing_saved(marketer, campaign):
    response = marketer.post(url(campaign), single(v0__title=""))
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_v0-title_error"' in page
    assert 'aria-invalid="true"' in page
    assert campaign.variants.get().content == {}
    campaign.refresh_from_db()
    assert Campaign.Step.WHAT not in campaign.steps_done


def test_a_liquid_error_is_shown_at_its_field_before_saving(marketer, campaign):
    response = marketer.post(url(campaign), single(v0__body="Hi {{ profile.name | default: 'x' "))
    assert response.status_code == 422
    page = response.content.decode()
    error = page.split('id="id_v0-body_error">', 1)[1].split("</p>", 1)[0]
    assert error.startswith("Liquid:")
    assert campaign.variants.get().content == {}


def test_a_liquid_error_in_a_button_link_is_shown_at_that_button(marketer, campaign):
    data = single(browsers="not_safari", v0__button1_title="Shop", v0__button1_url="https://shop.example/{% if %}")
    response = marketer.post(url(campaign), data)
    assert response.status_code == 422
    assert 'id="id_v0-button1_url_error">Liquid:' in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("v0__url", "javascript:alert(1)", "starts with https:// or http://"),
        ("v0__url", "ftp://shop.example/", "starts with https:// or http://"),
        ("v0__icon", "http://shop.example/icon.png", "Use an https:// address."),
        ("v0__ttl", "-5", "greater than or equal to 0"),
        ("v0__kv", "not a pair", "Line 1: write key=value"),
        ("v0__kv", "a=1\na=2", "Line 2: the key “a” is there twice."),
    ],
)
def test_bad_options_are_refused_at_their_field(marketer, campaign, field, value, message):
    response = marketer.post(url(campaign), single(**{field: value}))
    assert response.status_code == 422
    error_id = "id_" + field.replace("__", "-") + "_error"
    assert message in response.content.decode().split(f'id="{error_id}">', 1)[1].split("</p>")[0]


def test_a_deep_link_may_hold_liquid_after_its_scheme(marketer, campaign):
    response = marketer.post(url(campaign), single(v0__url="https://shop.example/p/{{ event.product_id }}"))
    assert response.status_code == 303
    assert campaign.variants.get().content["url"] == "https://shop.example/p/{{ event.product_id }}"


def test_safari_needs_a_deep_link(marketer, campaign):
    response = marketer.post(url(campaign), single(v0__url=""))
    assert response.status_code == 422
    assert "Safari needs a deep link" in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"v0__image": "https://shop.example/big.png"}, "v0-image"),
        ({"v0__button1_title": "Shop now", "v0__button1_url": "https://shop.example/"}, "v0-button1_title"),
    ],
)
def test_safari_refuses_an_image_and_buttons_while_it_is_included(marketer, campaign, fields, error_field):
    response = marketer.post(url(campaign), single(**fields))
    assert response.status_code == 422
    error = response.content.decode().split(f'id="id_{error_field}_error">', 1)[1].split("</p>")[0]
    assert "Safari shows no" in error


def test_leaving_safari_out_allows_an_image_and_buttons_and_no_deep_link(marketer, campaign):
    data = single(
        browsers="not_safari",
        v0__url="",
        v0__image="https://shop.example/big.png",
        v0__button1_title="Shop now",
        v0__button1_url="https://shop.example/",
        v0__button2_title="Later",
        v0__button2_url="https://shop.example/later",
    )
    response = marketer.post(url(campaign), data)
    assert response.status_code == 303
    content = campaign.variants.get().content
    assert content["browsers"] == "not_safari"
    assert content["image"] == "https://shop.example/big.png"
    assert content["buttons"] == [
        {"title": "Shop now", "url": "https://shop.example/"},
        {"title": "Later", "url": "https://shop.example/later"},
    ]
    # And the step shows the choice again.
    page = marketer.get(url(campaign)).content.decode()
    assert 'name="browsers" value="not_safari" checked' in page


def test_a_button_needs_both_a_text_and_a_link(marketer, campaign):
    response = marketer.post(url(campaign), single(browsers="not_safari", v0__button1_title="Shop now"))
    assert response.status_code == 422
    assert 'id="id_v0-button1_url_error">A button needs both a text and a link.' in response.content.decode()


def test_linked_content_is_saved_with_its_liquid_url(marketer, campaign):
    data = single(v0__linked1_name="weather", v0__linked1_url="https://api.example/weather?city={{ profile.city }}")
    response = marketer.post(url(campaign), data)
    assert response.status_code == 303
    assert campaign.variants.get().content["linked"] == [
        {"name": "weather", "url": "https://api.example/weather?city={{ profile.city }}"}
    ]


@pytest.mark.parametrize(
    ("fields", "error_field", "message"),
    [
        ({"v0__linked1_name": "weather", "v0__linked1_url": "http://api.example/"}, "v0-linked1_url", "https://"),
        ({"v0__linked1_name": "the weather", "v0__linked1_url": "https://a.example/"}, "v0-linked1_name", "Letters"),
        ({"v0__linked1_url": "https://a.example/"}, "v0-linked1_name", "Name this source"),
        (
            {
                "v0__linked1_name": "w",
                "v0__linked1_url": "https://a.example/",
                "v0__linked2_name": "w",
                "v0__linked2_url": "https://b.example/",
            },
            "v0-linked1_name",
            "its own name",
        ),
    ],
)
def test_bad_linked_content_is_refused(marketer, campaign, fields, error_field, message):
    response = marketer.post(url(campaign), single(**fields))
    assert response.status_code == 422
    assert message in response.content.decode().split(f'id="id_{error_field}_error">', 1)[1].split("</p>")[0]


def test_an_htmx_post_that_is_invalid_gets_the_page_with_errors_as_422(marketer, campaign):
    response = marketer.post(url(campaign), single(v0__title=""), headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'id="id_v0-title_error"' in response.content.decode()


@pytest.mark.parametrize("name", ["what", "what_variants", "what_preview", "what_test", "what_personalise"])
def test_a_viewer_may_not_use_the_step(client_as, campaign, name):
    client = client_as(roles.VIEWER)
    target = reverse(f"campaigns:{name}", args=[campaign.pk])
    assert client.get(target).status_code == 403
    assert client.post(target, single()).status_code == 403
    assert campaign.variants.get().content == {}
