"""Variants on the What step: A/B tests (up to three, copy, split shares, test size) and
one message per user property value (a fallback, unique values), edited through the
variants endpoint without saving and saved whole by Continue."""

import pytest
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.actions.variants import do_save_variants
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def make(make_user, channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME):
    return do_create_draft(name="Spring sale", channel=channel, kind=kind, owner=make_user())


@pytest.fixture
def campaign(make_user):
    return make(make_user)


def step_url(campaign):
    return reverse("campaigns:what", args=[campaign.pk])


def variants_url(campaign):
    return reverse("campaigns:what_variants", args=[campaign.pk])


def message(key, title, **more):
    fields = {f"v{key}-title": title, f"v{key}-body": f"Body of {title}", f"v{key}-url": "https://shop.example/"}
    return fields | {f"v{key}-{name}": value for name, value in more.items()}


def ab(*titles, **settings):
    data = {"message_type": "ab", "browsers": "all", "variants": [str(i) for i in range(len(titles))]}
    data |= {"ab_split": "winner", "ab_mode": "percent", "ab_test_size": "20", "ab_test_minutes": "240"}
    for key, title in enumerate(titles):
        data |= message(key, title)
    return data | settings


def by_language(values, fallback, **settings):
    """One variant per value (None for the fallback's slot)."""
    data = {"message_type": "by_property", "browsers": "all", "property_name": "language", "fallback": fallback}
    data["variants"] = [str(i) for i in range(len(values))]
    for key, value in enumerate(values):
        data |= message(key, f"Hello {value or 'all'}", property_value=value or "")
    return data | settings


def error_at(response, error_id):
    return response.content.decode().split(f'id="{error_id}">', 1)[1].split("</p>", 1)[0]


# A/B tests


def test_an_ab_test_of_three_variants_is_saved_with_its_test_population(marketer, campaign):
    response = marketer.post(step_url(campaign), ab("One", "Two", "Three"))
    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.message_type, campaign.ab_mode, campaign.ab_test_size, campaign.ab_test_minutes) == (
        "ab",
        "percent",
        20,
        240,
    )
    saved = list(campaign.variants.values_list("position", "name", "share", "content__title"))
    assert saved == [(0, "A", None, "One"), (1, "B", None, "Two"), (2, "C", None, "Three")]


def test_an_ab_test_needs_at_least_two_variants(marketer, campaign):
    response = marketer.post(step_url(campaign), ab("Only"))
    assert response.status_code == 422
    assert "2 or 3 variants" in error_at(response, "message_type-error")


def test_a_fourth_variant_cannot_be_added(marketer, campaign):
    data = ab("One", "Two", "Three")
    response = marketer.post(variants_url(campaign), data | {"op": "add"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('name="variants"') == 3
    assert 'value="add"' not in page  # no "add" button once there are three


def test_four_posted_variants_are_refused(marketer, campaign):
    data = ab("One", "Two", "Three", "Four")
    response = marketer.post(step_url(campaign), data)
    assert response.status_code == 422
    assert campaign.variants.count() == 1


@pytest.mark.parametrize(
    ("settings", "error_id", "message"),
    [
        ({"ab_test_size": "0"}, "ab_test_size-error", "greater than or equal to 1"),
        ({"ab_test_size": "100"}, "ab_test_size-error", "percentage from 1 to 99"),
        ({"ab_test_size": ""}, "ab_test_size-error", "percentage from 1 to 99"),
        ({"ab_mode": "count", "ab_test_size": "1"}, "ab_test_size-error", "at least 2 people"),
        ({"ab_test_minutes": ""}, "id_ab_test_minutes_error", "how many minutes"),
    ],
)
def test_the_test_population_must_make_sense(marketer, campaign, settings, error_id, message):
    response = marketer.post(step_url(campaign), ab("One", "Two", **settings))
    assert response.status_code == 422
    assert message in error_at(response, error_id)


def test_a_test_population_can_be_a_number_of_users(marketer, campaign):
    response = marketer.post(step_url(campaign), ab("One", "Two", ab_mode="count", ab_test_size="5000"))
    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.ab_mode, campaign.ab_test_size) == ("count", 5000)


def test_a_live_ab_test_counts_sends_before_the_winner(marketer, make_user):
    live = make(make_user, kind=Campaign.Kind.SINGLE_ACTION)
    data = ab("One", "Two", ab_mode="percent", ab_test_size="500", ab_test_minutes="")
    assert marketer.post(step_url(live), data).status_code == 303
    live.refresh_from_db()
    assert (live.ab_mode, live.ab_test_size, live.ab_test_minutes) == ("count", 500, None)
    refused = marketer.post(step_url(live), ab("One", "Two", ab_test_size=""))
    assert refused.status_code == 422
    assert "how many sends" in error_at(refused, "ab_test_size-error")


def test_split_delivery_shares_must_add_up_to_100(marketer, campaign):
    data = ab("One", "Two", "Three", ab_split="split") | {"v0-share": "50", "v1-share": "30", "v2-share": "10"}
    response = marketer.post(step_url(campaign), data)
    assert response.status_code == 422
    assert error_at(response, "ab_split-error") == "The shares add up to 90%; they must add up to 100%."
    assert campaign.variants.count() == 1


def test_split_delivery_needs_every_share(marketer, campaign):
    data = ab("One", "Two", ab_split="split") | {"v0-share": "50"}
    response = marketer.post(step_url(campaign), data)
    assert response.status_code == 422
    assert "its share" in error_at(response, "id_v1-share_error")


def test_split_delivery_is_saved_with_its_shares_and_no_test_population(marketer, campaign):
    data = ab("One", "Two", "Three", ab_split="split") | {"v0-share": "50", "v1-share": "30", "v2-share": "20"}
    assert marketer.post(step_url(campaign), data).status_code == 303
    campaign.refresh_from_db()
    assert list(campaign.variants.values_list("share", flat=True)) == [50, 30, 20]
    assert (campaign.ab_test_size, campaign.ab_test_minutes) == (None, None)
    page = marketer.get(step_url(campaign)).content.decode()
    assert 'name="ab_split" value="split" checked' in page


def test_copying_a_variant_copies_its_content_without_saving(marketer, campaign):
    data = ab("One", "Two") | {"v0-kv": "promo=SPRING"}
    response = marketer.post(variants_url(campaign), data | {"op": "copy:0"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('name="variants"') == 3
    assert page.count('value="One"') == 2  # A and its copy, placed right after it
    assert page.index('value="One"') < page.rindex('value="One"') < page.index('value="Two"')
    assert page.count("promo=SPRING") == 2
    assert campaign.variants.count() == 1
    assert campaign.variants.get().content == {}


def test_removing_a_variant_keeps_the_others(marketer, campaign):
    response = marketer.post(variants_url(campaign), ab("One", "Two", "Three") | {"op": "remove:1"})
    page = response.content.decode()
    assert page.count('name="variants"') == 2
    assert 'value="Two"' not in page
    assert 'value="One"' in page
    assert 'value="Three"' in page


def test_variant_edits_answer_htmx_with_the_form_alone(marketer, campaign):
    response = marketer.post(variants_url(campaign), ab("One", "Two") | {"op": "add"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith("<form")
    assert "<html" not in page
    assert page.count('name="variants"') == 3
    # An edit is not a submission: the new, empty variant shows no errors yet.
    assert 'class="error"' not in page.split('id="variant-2"', 1)[1].split("</section>")[0]


def test_switching_to_ab_copies_the_single_message_into_a_second_variant(marketer, campaign):
    data = {"message_type": "ab", "variants": ["0"], **message(0, "One")}
    page = marketer.post(variants_url(campaign), data | {"op": "retype"}).content.decode()
    assert page.count('name="variants"') == 2
    assert page.count('value="One"') == 2


def test_switching_back_to_single_keeps_only_the_first(marketer, campaign):
    data = ab("One", "Two") | {"message_type": "single"}
    page = marketer.post(variants_url(campaign), data | {"op": "retype"}).content.decode()
    assert page.count('name="variants"') == 1
    assert 'value="Two"' not in page


def test_saving_fewer_variants_removes_the_rest(marketer, campaign):
    assert marketer.post(step_url(campaign), ab("One", "Two", "Three")).status_code == 303
    single = {"message_type": "single", "browsers": "all", "variants": ["0"], **message(0, "Only")}
    assert marketer.post(step_url(campaign), single).status_code == 303
    assert list(campaign.variants.values_list("name", "content__title")) == [("A", "Only")]


def test_a_web_exit_intent_campaign_has_no_ab_test(marketer, make_user):
    popup = make(make_user, channel=Campaign.Channel.EXIT_INTENT, kind=Campaign.Kind.SINGLE_ACTION)
    data = {"message_type": "ab", "variants": ["0", "1"], "ab_split": "winner", "ab_test_size": "10"}
    for key in (0, 1):
        data |= {f"v{key}-title": "Wait!", f"v{key}-button_text": "OK", f"v{key}-click_action": "none"}
    response = marketer.post(step_url(popup), data)
    assert response.status_code == 422
    assert "one per value of a user property" in error_at(response, "message_type-error")


# One message per user property value


def test_one_message_per_language_is_saved_with_its_fallback(marketer, campaign):
    response = marketer.post(step_url(campaign), by_language(["en", "fr", None], fallback="2"))
    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.message_type, campaign.property_name) == ("by_property", "language")
    saved = list(campaign.variants.values_list("name", "property_value", "is_fallback", "content__title"))
    assert saved == [
        ("en", "en", False, "Hello en"),
        ("fr", "fr", False, "Hello fr"),
        ("Fallback", "", True, "Hello all"),
    ]


def test_a_fallback_is_required(marketer, campaign):
    response = marketer.post(step_url(campaign), by_language(["en", "fr"], fallback=""))
    assert response.status_code == 422
    assert "Choose the fallback" in error_at(response, "fallback-error")


def test_property_values_are_unique(marketer, campaign):
    response = marketer.post(step_url(campaign), by_language(["en", "EN", None], fallback="2"))
    assert response.status_code == 422
    assert error_at(response, "id_v1-property_value_error") == "Another variant is already for “en”."


def test_each_value_variant_names_its_value(marketer, campaign):
    response = marketer.post(step_url(campaign), by_language(["en", "", None], fallback="2"))
    assert response.status_code == 422
    assert "Give the value" in error_at(response, "id_v1-property_value_error")


def test_the_property_name_is_required(marketer, campaign):
    response = marketer.post(step_url(campaign), by_language(["en", None], fallback="1", property_name=""))
    assert response.status_code == 422
    assert "Choose the user property" in error_at(response, "property_name-error")


def test_a_fallback_alone_is_not_enough(marketer, campaign):
    response = marketer.post(step_url(campaign), by_language([None], fallback="0"))
    assert response.status_code == 422
    assert "at least one value" in error_at(response, "message_type-error")


def test_switching_to_by_property_adds_a_fallback(marketer, campaign):
    data = {"message_type": "by_property", "variants": ["0"], **message(0, "One")}
    page = marketer.post(variants_url(campaign), data | {"op": "retype"}).content.decode()
    assert page.count('name="variants"') == 2
    assert 'name="fallback" value="1" checked' in page


# The action


def test_do_save_variants_updates_rows_in_place_and_deletes_the_rest(campaign):
    first = campaign.variants.get()
    row = {"property_value": "", "is_fallback": False, "share": None}
    do_save_variants(campaign, [row | {"name": "A", "content": {"title": "a"}}, row | {"name": "B", "content": {}}])
    assert campaign.variants.get(position=0).pk == first.pk
    do_save_variants(campaign, [row | {"name": "A", "content": {"title": "only"}}])
    assert list(campaign.variants.values_list("pk", "content")) == [(first.pk, {"title": "only"})]
