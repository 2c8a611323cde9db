"""Push amplification's resends in a campaign's stats: a mobile push the app never reported
displayed is amplified and counted, one it reported rendered (POST /api/v1/engagement) is not."""

import json
from datetime import timedelta

import pytest

from accounts import roles
from delivery.actions.amplification import claim
from delivery.models import Dispatch
from segments.actions.keys import create_api_key
from stats import reports
from stats.tests import factory as f

pytestmark = pytest.mark.django_db


def test_the_stats_page_counts_the_mobile_pushes_amplified(client, make_user):
    campaign = f.campaign()
    run = f.run(campaign)
    Dispatch.objects.filter(pk=run.dispatch_id).update(channel=Dispatch.Channel.MOBILE_PUSH)
    quiet, shown = f.message(run), f.message(run)
    _, key = create_api_key("app", rate_per_minute=1_000_000)
    response = client.post(
        "/api/v1/engagement",
        json.dumps({"reports": [{"message_id": shown.pk, "kind": "rendered"}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.json()["recorded"] == 1

    assert claim(f.T0 + timedelta(minutes=90)) == [quiet.pk]

    assert reports.totals(campaign).amplified == 1
    assert reports.totals(campaign, run).amplified == 1
    client.force_login(make_user(roles.VIEWER))
    page = client.get(f"/stats/campaigns/{campaign.pk}/").content.decode()
    assert 'data-count="amplified" title="Amplified:' in page
