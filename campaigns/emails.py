"""Emails campaigns sends to people who work with Clarion (Django's email: the console
backend in the embedded mode, SMTP when ``EMAIL_HOST`` is set)."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from campaigns import schedule
from campaigns.models import CampaignRun

log = logging.getLogger(__name__)


def send_safety_check(run_id):
    """Tell a campaign's owner that its run was stopped by the safety check. Returns whether
    an email went out (not when the owner is gone or has no address)."""
    run = CampaignRun.objects.select_related("campaign__owner").get(pk=run_id)
    campaign = run.campaign
    owner = campaign.owner
    if owner is None or not owner.email:
        log.warning("safety check stopped run %s of campaign %s; its owner has no email address", run.pk, campaign.pk)
        return False
    tz = schedule.zone(campaign.timezone)
    context = {
        "run": run,
        "campaign": campaign,
        "owner": owner,
        "planned": f"{run.planned_at.astimezone(tz):%d %b %Y %H:%M} {tz.key}",
        "url": settings.PUBLIC_BASE_URL + reverse("campaigns:detail", args=[campaign.pk]),
    }
    subject = render_to_string("campaigns/email/safety_check_subject.txt", context).strip()
    body = render_to_string("campaigns/email/safety_check.txt", context)
    send_mail(subject, body, None, [owner.email])
    return True
