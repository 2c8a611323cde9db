"""The stats pages: who may read them, what they show, htmx partials, CSV exports, click links."""

import csv
import io
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse

from accounts import roles
from delivery.models import Message
from stats.actions.rollup import do_roll_up
from stats.links import SALT, BadLink, click_token, click_url, read_click_token
from stats.tests import factory as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    found = f.campaign(variants=("A", "B"))
    run = f.run(found, qualified=5, winner="A")
    f.message(run, variant="A", viewed_at=f.T0, clicked_at=f.T0)
    f.message(run, variant="A", viewed_at=f.T0)
    f.message(run, variant="B", viewed_at=f.T0)
    f.message(run, variant="B", status=Message.Status.FAILED, code="push_unreg")
    later = f.run(found, started=f.T0 + timedelta(days=7), qualified=2)
    f.message(later, sent_at=f.T0 + timedelta(days=7))
    do_roll_up()
    found.first_run, found.later_run = run, later
    return found


def page(client, campaign, headers=None, **query):
    return client.get(reverse("stats:campaign", args=[campaign.pk]), query, headers=headers)


def counters(response):
    return response.context["numbers"]


def test_a_viewer_reads_a_campaigns_stats(client_as, campaign):
    response = page(client_as(roles.VIEWER), campaign)
    assert response.status_code == 200
    numbers = counters(response)
    # Sent is what the push service accepted; the refused one is failed, not sent.
    assert (numbers.reachable, numbers.sent, numbers.failed, numbers.viewed, numbers.clicked) == (7, 4, 1, 3, 1)
    html = response.content.decode()
    assert 'data-counter="ctr">33.33 %' in html
    assert "<svg" in html and 'class="series series-clicked"' in html
    assert "Winner" in html


def test_someone_without_a_role_may_not(client_as, campaign):
    assert page(client_as(None), campaign).status_code == 403


def test_the_run_selector_narrows_the_numbers_to_one_run(marketer, campaign):
    response = page(marketer, campaign, run=campaign.later_run.pk)
    assert (counters(response).reachable, counters(response).sent) == (2, 1)
    assert page(marketer, campaign, run=999999).status_code == 404
    other = f.run(f.campaign("Another"))
    assert page(marketer, campaign, run=other.pk).status_code == 404


@pytest.mark.parametrize("run", ["abc", "²", "9" * 40])
def test_a_run_parameter_that_is_no_id_is_a_404_not_an_error(marketer, campaign, run):
    assert page(marketer, campaign, run=run).status_code == 404


def test_htmx_gets_only_the_body_for_the_chosen_period(marketer, campaign):
    response = page(marketer, campaign, period="week", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="stats-body">')
    assert 'data-period="week"' in html and "<html" not in html
    assert len(response.context["points"]) == 2  # the weeks of 2 and 9 March


def test_the_errors_tab_lists_codes_with_their_meaning(marketer, campaign):
    html = page(marketer, campaign, tab="errors").content.decode()
    assert "push_unreg" in html and "uninstalled" in html


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def csv_of(client, campaign, table, **query):
    return client.get(reverse("stats:csv", args=[campaign.pk, table]), query)


def test_the_summary_csv_holds_every_counter(client_as, campaign):
    rows = dict(read_csv(csv_of(client_as(roles.VIEWER), campaign, "summary"))[1:])
    assert rows["sent"] == "4" and rows["failed"] == "1" and rows["viewed"] == "3" and rows["clicked"] == "1"
    assert rows["ctr_percent"] == "33.33"


def test_the_variant_trend_and_error_csvs_match_the_page(marketer, campaign):
    variants = read_csv(csv_of(marketer, campaign, "variants", run=campaign.first_run.pk))
    assert variants[0][:3] == ["variant", "winner", "sent"]
    assert [row[:3] for row in variants[1:]] == [["A", "yes", "2"], ["B", "", "1"]]
    trend = read_csv(csv_of(marketer, campaign, "trend", period="week"))
    assert trend == [
        ["week_starting", "sent", "rendered", "viewed", "clicked"],
        ["2026-03-02", "3", "3", "3", "1"],
        ["2026-03-09", "1", "0", "0", "0"],
    ]
    errors = read_csv(csv_of(marketer, campaign, "errors"))
    assert errors[1][:4] == ["push_unreg", "technical", "failed", "1"]


def test_an_unknown_csv_table_is_a_400(marketer, campaign):
    assert csv_of(marketer, campaign, "everything").status_code == 400


def test_the_stats_list_shows_each_campaigns_numbers(client_as, campaign):
    response = client_as(roles.VIEWER).get(reverse("stats:index"))
    assert response.status_code == 200
    [(listed, numbers)] = response.context["rows"]
    assert (listed, numbers.sent, numbers.clicked) == (campaign, 4, 1)


# Signed click links


def test_a_signed_link_records_the_click_and_redirects_to_its_target(client, campaign):
    message = Message.objects.filter(variant="B", status="sent").get()
    url = "https://shop.example.com/sale?utm=push"
    response = client.get(click_url(message.pk, url).replace("http://127.0.0.1:8000", ""))
    assert response.status_code == 302
    assert response["Location"] == url
    message.refresh_from_db()
    assert message.clicked_at is not None and message.viewed_at is not None


def test_a_tampered_token_is_a_400_and_records_nothing(client, campaign):
    message = Message.objects.filter(variant="B", status="sent").get()
    token = click_token(message.pk, "https://shop.example.com/")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.get(reverse("stats:click", args=[forged]))
    assert response.status_code == 400
    message.refresh_from_db()
    assert message.clicked_at is None


def test_a_token_for_one_message_never_counts_for_another(client, campaign):
    first, second = Message.objects.filter(status="sent", clicked_at__isnull=True)[:2]
    client.get(reverse("stats:click", args=[click_token(first.pk, "https://shop.example.com/")]))
    second.refresh_from_db()
    assert second.clicked_at is None
    # Re-signing the same data with another salt (another use of the secret key) is refused.
    other_salt = signing.dumps({"m": second.pk, "u": "https://evil.example.com/"}, salt="something-else")
    assert client.get(reverse("stats:click", args=[other_salt])).status_code == 400
    with pytest.raises(BadLink):
        read_click_token(other_salt)


def test_a_token_carries_its_message_and_target_and_only_web_targets_are_signed():
    assert read_click_token(click_token(12, "https://a.example.com/x"))[0] == 12
    assert SALT in SALT  # the salt is the module's own constant
    with pytest.raises(ValueError, match="http"):
        click_token(12, "javascript:alert(1)")
