"""The What step for mobile push (iOS and Android options, rich media, carousel, buttons)
and for Web Exit Intent pop-ups (the button's click: nothing, a link, a named function)."""

import pytest
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def make(make_user, channel, kind=Campaign.Kind.ONE_TIME):
    return do_create_draft(name="Sale", channel=channel, kind=kind, owner=make_user())


@pytest.fixture
def mobile(make_user):
    return make(make_user, Campaign.Channel.MOBILE_PUSH)


@pytest.fixture
def popup(make_user):
    return make(make_user, Campaign.Channel.EXIT_INTENT, Campaign.Kind.SINGLE_ACTION)


def url(campaign):
    return reverse("campaigns:what", args=[campaign.pk])


def post(**fields):
    data = {"message_type": "single", "variants": ["0"]}
    return data | {f"v0-{name}": value for name, value in fields.items()}


def error_at(response, field):
    return response.content.decode().split(f'id="id_v0-{field}_error">', 1)[1].split("</p>", 1)[0]


# Mobile push


def test_every_mobile_option_is_saved_as_content(marketer, mobile):
    data = post(
        title="Hi {{ profile.first_name }}",
        subtitle="Spring",
        body="Sale starts now",
        url="https://shop.example/sale",
        image="https://cdn.example/a.png",
        ios_media_url="https://cdn.example/v.mp4",
        ios_media_type="video",
        sound="chime.caf",
        badge="3",
        category="SALE",
        mutable_content="on",
        collapse_key="spring-sale",
        android_priority="max",
        android_channel_id="promotions",
        carousel1_image="https://cdn.example/1.png",
        carousel1_caption="Shoes",
        carousel1_subcaption="From 20 €",
        carousel1_url="https://shop.example/shoes",
        carousel2_image="https://cdn.example/2.png",
        button1_title="Buy now",
        button1_id="buy_now",
        button1_url="https://shop.example/buy",
        kv="coupon=SPRING",
    )
    response = marketer.post(url(mobile), data)
    assert response.status_code == 303
    assert mobile.variants.get().content == {
        "title": "Hi {{ profile.first_name }}",
        "subtitle": "Spring",
        "body": "Sale starts now",
        "url": "https://shop.example/sale",
        "image": "https://cdn.example/a.png",
        "ios_media_url": "https://cdn.example/v.mp4",
        "ios_media_type": "video",
        "sound": "chime.caf",
        "badge": 3,
        "category": "SALE",
        "mutable_content": True,
        "collapse_key": "spring-sale",
        "android_priority": "max",
        "android_channel_id": "promotions",
        "carousel": [
            {
                "image": "https://cdn.example/1.png",
                "caption": "Shoes",
                "subcaption": "From 20 €",
                "url": "https://shop.example/shoes",
            },
            {"image": "https://cdn.example/2.png"},
        ],
        "buttons": [{"title": "Buy now", "id": "buy_now", "url": "https://shop.example/buy"}],
        "kv": {"coupon": "SPRING"},
    }
    # The step shows it all again.
    page = marketer.get(url(mobile)).content.decode()
    assert 'value="chime.caf"' in page
    assert 'value="From 20 €"' in page
    assert '<option value="max" selected>' in page


def test_a_silent_push_needs_no_text(marketer, mobile):
    response = marketer.post(url(mobile), post(content_available="on", kv="sync=1"))
    assert response.status_code == 303
    assert mobile.variants.get().content == {"content_available": True, "kv": {"sync": "1"}}


def test_a_visible_push_needs_a_title_and_text(marketer, mobile):
    response = marketer.post(url(mobile), post(title="", body=""))
    assert response.status_code == 422
    assert "silent push" in error_at(response, "title")
    assert "silent push" in error_at(response, "body")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"android_priority": "urgent"}, "android_priority", "Select a valid choice"),
        ({"badge": "-1"}, "badge", "greater than or equal to 0"),
        ({"sound": "my sound.caf"}, "sound", "no spaces"),
        ({"collapse_key": "x" * 65}, "collapse_key", "at most 64"),
        ({"ios_media_url": "https://cdn.example/v.mp4"}, "ios_media_type", "image or a video"),
        ({"image": "http://cdn.example/a.png"}, "image", "https://"),
        ({"carousel1_caption": "No picture"}, "carousel1_image", "needs an image"),
        ({"button1_title": "Buy"}, "button1_id", "action id"),
        ({"button1_title": "Buy", "button1_id": "buy now"}, "button1_id", "no spaces"),
        ({"url": "javascript://%0Aalert(1)"}, "url", "app link"),
        ({"url": "data://text/html,hi"}, "url", "app link"),
        ({"url": "cart"}, "url", "app link"),
        ({"carousel1_image": "https://c.example/1.png", "carousel1_caption": "{{ x"}, "carousel1_caption", "Liquid:"),
    ],
)
def test_bad_mobile_options_are_refused_at_their_field(marketer, mobile, fields, field, message):
    response = marketer.post(url(mobile), post(title="Hi", body="There", **fields))
    assert response.status_code == 422
    assert message in error_at(response, field)
    assert mobile.variants.get().content == {}


@pytest.mark.parametrize("link", ["myapp://cart", "myapp://product/{{ event.sku }}", "https://shop.example/cart"])
def test_a_mobile_deep_link_may_use_the_apps_own_scheme(marketer, mobile, link):
    response = marketer.post(
        url(mobile), post(title="Hi", body="There", url=link, button1_title="Open", button1_id="open", button1_url=link)
    )
    assert response.status_code == 303
    content = mobile.variants.get().content
    assert content["url"] == link
    assert content["buttons"][0]["url"] == link


def test_mobile_push_has_no_safari_rules(marketer, mobile):
    response = marketer.post(url(mobile), post(title="Hi", body="There", image="https://cdn.example/a.png"))
    assert response.status_code == 303


# Web Exit Intent


def test_a_pop_up_that_calls_a_javascript_function_is_saved(marketer, popup):
    data = post(
        image="https://cdn.example/popup.png",
        title="Wait, {{ profile.first_name | default: 'friend' }}!",
        body="Your cart misses you.",
        button_text="Open my cart",
        click_action="js",
        js_function="Shop.openCart",
        click_url="https://ignored.example/",
    )
    response = marketer.post(url(popup), data)
    assert response.status_code == 303
    assert popup.variants.get().content == {
        "image": "https://cdn.example/popup.png",
        "title": "Wait, {{ profile.first_name | default: 'friend' }}!",
        "body": "Your cart misses you.",
        "button_text": "Open my cart",
        "click_action": "js",
        "js_function": "Shop.openCart",
    }


def test_a_pop_up_that_opens_a_link_needs_the_link(marketer, popup):
    response = marketer.post(url(popup), post(title="Wait", button_text="Go", click_action="link"))
    assert response.status_code == 422
    assert "Give the link" in error_at(response, "click_url")
    ok = marketer.post(
        url(popup), post(title="Wait", button_text="Go", click_action="link", click_url="https://shop.example/cart")
    )
    assert ok.status_code == 303
    assert popup.variants.get().content["click_url"] == "https://shop.example/cart"


def test_a_pop_up_whose_button_does_nothing_is_saved(marketer, popup):
    response = marketer.post(url(popup), post(title="Hello", button_text="Close", click_action="none"))
    assert response.status_code == 303
    assert popup.variants.get().content == {"title": "Hello", "button_text": "Close", "click_action": "none"}


@pytest.mark.parametrize(
    "name",
    ["alert(1)", "Shop.openCart()", "Shop['openCart']", "a;b", "window.eval", "1abc", "Shop..open", "new.thing"],
)
def test_the_javascript_function_is_a_name_never_code(marketer, popup, name):
    response = marketer.post(url(popup), post(title="Wait", button_text="Go", click_action="js", js_function=name))
    assert response.status_code == 422
    assert "no brackets or code" in error_at(response, "js_function")
    assert popup.variants.get().content == {}


def test_a_pop_up_needs_a_title_and_a_button_text(marketer, popup):
    response = marketer.post(url(popup), post(click_action="none"))
    assert response.status_code == 422
    assert error_at(response, "title") == "This field is required."
    assert error_at(response, "button_text") == "This field is required."


def test_one_pop_up_per_customer_type(marketer, popup):
    data = {"message_type": "by_property", "property_name": "customer_type", "fallback": "1", "variants": ["0", "1"]}
    for key, value in ((0, "Gold"), (1, "")):
        data |= {f"v{key}-title": f"Hi {value or 'all'}", f"v{key}-button_text": "OK", f"v{key}-click_action": "none"}
        data[f"v{key}-property_value"] = value
    assert marketer.post(url(popup), data).status_code == 303
    assert list(popup.variants.values_list("property_value", "is_fallback")) == [("Gold", False), ("", True)]
