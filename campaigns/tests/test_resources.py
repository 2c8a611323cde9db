"""Push resources: saved push contents made on their page (validated by the What step's
form, audited, Marketer/Admin only) and picked in the What step, which copies them."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts import roles
from accounts.models import AuditEntry
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, PushResource, Variant

pytestmark = pytest.mark.django_db
LIST = "/campaigns/resources/"


def web(**fields):
    """A valid web push resource post, with ``fields`` (c-…) changed."""
    data = {
        "channel": "web_push",
        "name": "Gold coupon",
        "c-title": "Gold for {{ profile.first_name | default: 'you' }}",
        "c-body": "20% off today.",
        "c-url": "https://shop.example/gold",
        "c-icon": "https://shop.example/icon.png",
        "c-image": "https://shop.example/gold.png",
        "c-button1_title": "Shop",
        "c-button1_url": "https://shop.example/shop",
    }
    data.update({name.replace("__", "-"): value for name, value in fields.items()})
    return data


def entries(resource_id, verb):
    kind = ContentType.objects.get_for_model(PushResource)
    return AuditEntry.objects.filter(content_type=kind, object_id=resource_id, verb=verb)


@pytest.fixture
def resource(make_user):
    return PushResource.objects.create(
        name="Gold coupon",
        channel="web_push",
        content={
            "title": "Gold title",
            "body": "Gold body",
            "url": "https://shop.example/gold",
            "icon": "https://shop.example/icon.png",
            "buttons": [{"title": "Shop", "url": "https://shop.example/shop"}],
        },
    )


@pytest.fixture
def campaign(make_user):
    return do_create_draft(
        name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, owner=make_user()
    )


def test_a_marketer_creates_edits_and_deletes_a_resource_each_audited(marketer):
    response = marketer.post(LIST, web())
    assert response.status_code == 303
    resource = PushResource.objects.get()
    assert resource.channel == "web_push"
    assert resource.content["title"] == "Gold for {{ profile.first_name | default: 'you' }}"
    assert resource.content["buttons"] == [{"title": "Shop", "url": "https://shop.example/shop"}]
    assert resource.content["image"] == "https://shop.example/gold.png"
    assert entries(resource.pk, "created").count() == 1

    page = marketer.get(reverse("campaigns:resource", args=[resource.pk])).content.decode()
    assert 'value="20% off today."' in page or "20% off today.</textarea>" in page
    response = marketer.post(reverse("campaigns:resource", args=[resource.pk]), web(c__body="30% off today."))
    assert response.status_code == 303
    resource.refresh_from_db()
    assert resource.content["body"] == "30% off today."
    assert entries(resource.pk, "changed").get().detail == "changed content"

    response = marketer.post(reverse("campaigns:resource_delete", args=[resource.pk]))
    assert response.status_code == 303
    assert not PushResource.objects.exists()
    assert entries(resource.pk, "deleted").count() == 1


def test_a_mobile_resource_uses_the_mobile_form(marketer):
    assert 'name="c-subtitle"' in marketer.get(LIST, {"channel": "mobile_push"}).content.decode()
    data = {
        "channel": "mobile_push",
        "name": "App sale",
        "c-title": "Sale",
        "c-body": "In the app",
        "c-url": "myapp://sale",
    }
    assert marketer.post(LIST, data).status_code == 303
    assert PushResource.objects.get().content == {"title": "Sale", "body": "In the app", "url": "myapp://sale"}


def test_a_viewer_reads_the_list_but_cannot_change_anything(client_as, resource):
    viewer = client_as(roles.VIEWER)
    page = viewer.get(LIST)
    assert page.status_code == 200
    assert "Gold coupon" in page.content.decode() and 'name="c-title"' not in page.content.decode()
    assert viewer.post(LIST, web(name="Other")).status_code == 403
    edit = reverse("campaigns:resource", args=[resource.pk])
    assert viewer.post(edit, web(c__title="Changed")).status_code == 403
    assert viewer.post(reverse("campaigns:resource_delete", args=[resource.pk])).status_code == 403
    resource.refresh_from_db()
    assert resource.content["title"] == "Gold title"
    assert PushResource.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"c__title": ""}, "c-title", "This field is required."),
        ({"c__image": "http://shop.example/a.png"}, "c-image", "https"),
        ({"c__button1_url": ""}, "c-button1_url", "A button needs both a text and a link."),
        ({"c__title": "{% if %}"}, "c-title", "Liquid"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_input_comes_back_at_its_field_and_saves_nothing(marketer, fields, field, message):
    response = marketer.post(LIST, web(**fields))
    assert response.status_code == 422
    errors = response.context["form"].content.errors | response.context["form"].names.errors
    assert field.removeprefix("c-") in errors
    assert message in " ".join(errors[field.removeprefix("c-")])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not PushResource.objects.exists()
    assert not AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(PushResource)).exists()


def test_two_resources_cannot_share_a_name(marketer, resource):
    response = marketer.post(LIST, web(name="gold COUPON"))
    assert response.status_code == 422
    assert "Another push resource has this name." in response.content.decode()
    assert PushResource.objects.count() == 1


def test_html_in_a_title_is_escaped_on_the_list(marketer, resource):
    resource.content["title"] = "<script>alert(1)</script>"
    resource.name = "<b>bold</b>"
    resource.save()
    page = marketer.get(LIST).content.decode()
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_the_what_step_offers_the_resources_and_fills_a_variant_from_one(marketer, campaign, resource):
    url = reverse("campaigns:what", args=[campaign.pk])
    page = marketer.get(url).content.decode()
    assert "Start from a saved push" in page and f'<option value="{resource.pk}">Gold coupon</option>' in page

    page = marketer.get(url, {"resource": resource.pk}).content.decode()
    assert 'value="Gold title"' in page and 'value="https://shop.example/shop"' in page

    # The variant buttons' way: an edit that fills the chosen variant and saves nothing.
    data = {"message_type": "ab", "variants": ["0", "1"], "v0-title": "Mine", "v1-resource": str(resource.pk)}
    response = marketer.post(reverse("campaigns:what_variants", args=[campaign.pk]), {**data, "op": "resource:1"})
    form = response.context["form"]
    assert form.forms[0]["title"].value() == "Mine"
    assert form.forms[1]["title"].value() == "Gold title"
    assert form.forms[1]["button1_url"].value() == "https://shop.example/shop"
    assert Variant.objects.get(campaign=campaign).content == {}


def test_a_resource_of_another_channel_fills_nothing(marketer, campaign, resource):
    resource.channel = "mobile_push"
    resource.save()
    page = marketer.get(reverse("campaigns:what", args=[campaign.pk]), {"resource": resource.pk}).content.decode()
    assert 'value="Gold title"' not in page and "Gold coupon" not in page


def test_editing_a_resource_later_does_not_change_a_campaign_that_used_it(marketer, campaign, resource):
    url = reverse("campaigns:what", args=[campaign.pk])
    form = marketer.get(url, {"resource": resource.pk}).context["form"]
    data = {"message_type": "single", "browsers": "not_safari", "variants": ["0"]}  # it has buttons
    for name in form.forms[0].fields:
        value = form.forms[0][name].value()
        if value not in (None, "", False):
            data[f"v0-{name}"] = "on" if value is True else value
    assert marketer.post(url, data).status_code == 303
    used = Variant.objects.get(campaign=campaign).content
    assert used["title"] == "Gold title"

    marketer.post(reverse("campaigns:resource", args=[resource.pk]), web(c__title="New gold title"))
    resource.refresh_from_db()
    assert resource.content["title"] == "New gold title"
    assert Variant.objects.get(campaign=campaign).content == used
    page = marketer.get(LIST).content.decode()
    assert "campaigns that already used it keep their own copy" in page


def test_a_mobile_campaign_picks_a_mobile_resource_and_a_pop_up_offers_none(marketer, make_user, resource):
    owner = make_user()
    mobile = do_create_draft(name="App", channel=Campaign.Channel.MOBILE_PUSH, kind=Campaign.Kind.ONE_TIME, owner=owner)
    app = PushResource.objects.create(
        name="App sale", channel="mobile_push", content={"title": "Sale", "subtitle": "Today", "body": "In the app"}
    )
    page = marketer.get(reverse("campaigns:what", args=[mobile.pk]), {"resource": app.pk}).content.decode()
    assert 'value="Today"' in page and "Gold coupon" not in page
    popup = do_create_draft(
        name="Leaving?", channel=Campaign.Channel.EXIT_INTENT, kind=Campaign.Kind.ONE_TIME, owner=owner
    )
    assert "Start from a saved push" not in marketer.get(reverse("campaigns:what", args=[popup.pk])).content.decode()
