"""The Who step's ad-hoc segment builder and Overview's words for the profile's own
fields as conditions (segments/tests/test_builder_fields.py has the builder itself)."""

import pytest
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from campaigns.summary import rules_text
from segments.forms.builder_display import form_from_rules
from segments.models import Profile

pytestmark = pytest.mark.django_db
LANGUAGE = {"kind": "field", "field": "language", "op": "equals", "value": "en"}


def rules(*conditions):
    return {"match": "all", "conditions": list(conditions)}


def field(name, op, **rest):
    return {"kind": "field", "field": name, "op": op, **rest}


def test_the_who_steps_ad_hoc_builder_offers_the_fields_and_counts_them(marketer):
    for identity, language in [("ann", "en-GB"), ("bo", "en"), ("cy", "fr")]:
        Profile.objects.create(identity=identity, language=language)
    campaign = do_create_draft(name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind="one_time", owner=None)
    data = {"audience": "adhoc", **form_from_rules(rules(LANGUAGE))}
    response = marketer.post(reverse("campaigns:who-builder", args=[campaign.pk]), data, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert '<option value="field:language" selected>Language</option>' in page
    assert '<option value="field:timezone">Time zone</option>' in page
    reach = marketer.post(reverse("campaigns:who-reach", args=[campaign.pk]), data)
    assert 'id="reach-qualified" data-count="2"' in reach.content.decode()


def test_overview_reads_field_conditions_in_words():
    text = rules_text(
        rules(
            LANGUAGE,
            field("last_seen_at", "over_days_ago", value=7),
            field("is_test", "equals", value=False),
            field("updated_at", "greater", value="2026-11-01"),
        )
    )
    assert text == (
        "Language equals en and Last seen more than 7 days ago and is not a test profile"
        " and Last updated is after 2026-11-01"
    )
