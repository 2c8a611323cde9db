"""The vocabulary of counts (campaigns/counts.py) on the pages: the glossary, a definition on
hover of every number, and one duration formatter."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts import roles
from campaigns.counts import TERMS
from delivery.models import Message
from stats.actions.rollup import do_roll_up
from stats.tests import factory as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    found = f.campaign(goal_event="Charged", goal_window_minutes=1440)
    run = f.run(found, qualified=3, targeted=2)
    f.message(run, viewed_at=f.T0)
    f.message(run, status=Message.Status.FAILED, code="push_unreg")
    do_roll_up()
    return found


def test_a_viewer_reads_the_glossary_with_an_anchor_per_term(client_as):
    html = client_as(roles.VIEWER).get(reverse("stats:glossary")).content.decode()
    for term in TERMS.values():
        assert f'id="{term.name}"' in html
        assert escape(term.definition) in html


def test_the_glossary_needs_a_login(client):
    response = client.get(reverse("stats:glossary"))
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize("page", ["campaigns:detail", "stats:campaign"])
def test_every_number_shown_carries_its_definition_on_hover_and_links_the_glossary(marketer, campaign, page):
    html = marketer.get(reverse(page, args=[campaign.pk])).content.decode()
    numbers = re.findall(r'<span data-count="(\w+)" title="([^"]*)">', html)
    assert {"reachable", "held_out", "capped", "targeted", "sent", "failed", "not_sent", "waiting"} <= {
        name for name, _ in numbers
    }
    for name, title in numbers:
        assert title.startswith(f"{TERMS[name].label}: ")
        assert f'href="/stats/glossary/#{name}"' in html


def test_the_stats_page_says_a_goal_window_as_the_overview_does(marketer, campaign):
    html = marketer.get(reverse("stats:campaign", args=[campaign.pk])).content.decode()
    assert "within 1 day after" in html
    assert "1440 min" not in html


def test_a_run_row_counts_people_then_messages(marketer, campaign):
    [run] = marketer.get(reverse("campaigns:detail", args=[campaign.pk])).context["runs"]
    counts = run.counts
    assert (counts.reachable, counts.held_out, counts.capped, counts.targeted) == (3, 0, 1, 2)
    assert (counts.sent, counts.failed, counts.not_sent, counts.waiting) == (1, 1, 0, 0)
