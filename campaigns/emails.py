"""Emails campaigns sends to people who work with Clarion (Django's email: the console
backend in the embedded mode, SMTP when ``EMAIL_HOST`` is set)."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from campaigns import counts, schedule
from campaigns.models import CampaignRun

log = logging.getLogger(__name__)


def send_safety_check(run_id):
    """Tell a campaign's owner that its run was stopped by the safety check. Returns whether
    an email went out (not when the owner is gone or has no address)."""
    return _tell_owner(run_id, "safety_check")


def send_run_failed(run_id):
    """Tell a campaign's owner that its run could not start, and why (the run's reason)."""
    return _tell_owner(run_id, "run_failed")


def _tell_owner(run_id, template):
    """Email the owner of a run's campaign ``campaigns/email/<template>.txt`` (and its
    ``_subject.txt``) about the run. Returns whether an email went out."""
    run = CampaignRun.objects.select_related("campaign__owner").get(pk=run_id)
    campaign = run.campaign
    owner = campaign.owner
    if owner is None or not owner.email:
        log.warning("%s: run %s of campaign %s; its owner has no email address", template, run.pk, campaign.pk)
        return False
    tz = schedule.zone(campaign.timezone)
    context = {
        "run": run,
        # The run's numbers as its row on the campaign page shows them (campaigns/counts.py).
        "counts": counts.for_runs([run])[run.pk],
        "terms": counts.TERMS,
        "campaign": campaign,
        "owner": owner,
        "planned": f"{run.planned_at.astimezone(tz):%d %b %Y %H:%M} {tz.key}",
        "url": settings.PUBLIC_BASE_URL + reverse("campaigns:detail", args=[campaign.pk]),
    }
    subject = render_to_string(f"campaigns/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"campaigns/email/{template}.txt", context)
    send_mail(subject, body, None, [owner.email])
    return True
