"""The wizard frame (campaigns/views/wizard.py and wizard/base.html), as every step shows it."""

import pytest

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign


@pytest.mark.parametrize("step", ["who", "when", "what", "setup", "overview"])
def test_every_step_keeps_itself_out_of_the_htmx_history_cache(marketer, make_user, step):
    # Back to a step must fetch it as saved: a snapshot of the page as first drawn would
    # show (and, on Continue, save again) the values from before the marketer's changes.
    campaign = do_create_draft(
        name="Spring sale",
        channel=Campaign.Channel.WEB_PUSH,
        kind=Campaign.Kind.RECURRING,
        owner=make_user(roles.MARKETER),
    )
    page = marketer.get(f"/campaigns/{campaign.pk}/{step}/").content.decode()
    assert 'hx-history="false"' in page
