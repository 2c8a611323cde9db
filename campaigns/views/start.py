"""Start: pick the name, the channel and the type; makes the draft.

Each visit to Start has its own URL (``/campaigns/new/?start=<key>``; the "New campaign"
link's ``/campaigns/new/`` redirects to a new one) and the session remembers which draft
each key made. So the browser's Back from Who lands on this Start again, showing the
draft's choices, and Continue updates that draft instead of making a second one.
"""

import re
import secrets

from django.shortcuts import redirect, render
from django.urls import reverse

from accounts import roles
from accounts.access import requires
from campaigns.actions.drafts import do_create_draft, do_restart_draft
from campaigns.forms.start import StartForm
from campaigns.models import Campaign

PAST_KINDS = [Campaign.Kind.ONE_TIME, Campaign.Kind.MULTIPLE_DATES, Campaign.Kind.RECURRING]
LIVE_KINDS = [Campaign.Kind.SINGLE_ACTION, Campaign.Kind.INACTION, Campaign.Kind.DATE_PROPERTY]
REQUESTED_KINDS = [Campaign.Kind.API_TRIGGERED]  # Web Push and Mobile Push (forms/start.py)
KIND_HELP = {
    Campaign.Kind.ONE_TIME: "On a specific date and time.",
    Campaign.Kind.MULTIPLE_DATES: "On several dates and times you pick.",
    Campaign.Kind.RECURRING: "Daily, weekly on chosen days, or monthly.",
    Campaign.Kind.SINGLE_ACTION: "As soon as someone does something (an event).",
    Campaign.Kind.INACTION: "Someone does A and not B within a time, e.g. an abandoned cart.",
    Campaign.Kind.DATE_PROPERTY: "Before or after a date held in an event, e.g. a trip reminder.",
    Campaign.Kind.API_TRIGGERED: "When your backend asks, through the API, e.g. an order confirmation.",
}
CHANNEL_HELP = {
    Campaign.Channel.WEB_PUSH: "Browser notifications (Chrome, Firefox, Edge, Safari, KaiOS).",
    Campaign.Channel.MOBILE_PUSH: "Android (FCM) and iOS (APNs) app notifications.",
    Campaign.Channel.EXIT_INTENT: "A pop-up on your site when a visitor is about to leave.",
    Campaign.Channel.PERMISSION_REQUEST: "A banner on your site asking visitors to allow push (soft onboarding).",
}


SESSION_KEY = "campaigns:start"
KEY = re.compile(r"[A-Za-z0-9_-]{8,32}")
REMEMBERED = 20  # the latest Start visits whose drafts the session remembers


@requires(roles.MANAGE_CAMPAIGNS)
def start(request):
    key = request.GET.get("start", "")
    if not KEY.fullmatch(key):
        if request.method == "POST":
            key = ""  # a form posted without a key (an old page) still makes its draft
        else:
            return redirect(f"{reverse('campaigns:new')}?start={secrets.token_urlsafe(9)}")
    draft = _draft_of(request, key)
    initial = {"channel": Campaign.Channel.WEB_PUSH, "kind": Campaign.Kind.ONE_TIME}
    if draft is not None:
        initial = {"name": draft.name, "channel": draft.channel, "kind": draft.kind}
    form = StartForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if draft is not None:
                campaign = do_restart_draft(draft, user=request.user, **form.cleaned_data)
            else:
                campaign = do_create_draft(owner=request.user, **form.cleaned_data)
                _remember(request, key, campaign)
            response = redirect("campaigns:who", campaign.pk)
            response.status_code = 303
            return response
        status = 422
    context = {
        "form": form,
        "channels": [(value, label, CHANNEL_HELP[value]) for value, label in Campaign.Channel.choices],
        "past_kinds": [(k.value, k.label, KIND_HELP[k]) for k in PAST_KINDS],
        "live_kinds": [(k.value, k.label, KIND_HELP[k]) for k in LIVE_KINDS],
        "requested_kinds": [(k.value, k.label, KIND_HELP[k]) for k in REQUESTED_KINDS],
    }
    context["post_url"] = f"{reverse('campaigns:new')}?start={key}" if key else reverse("campaigns:new")
    response = render(request, "campaigns/start.html", context, status=status)
    if request.htmx:
        response["HX-Push-Url"] = context["post_url"]  # Back must find this visit's key
    return response


def _draft_of(request, key):
    """The draft this Start visit made, while it is still a draft."""
    pk = request.session.get(SESSION_KEY, {}).get(key) if key else None
    if pk is None:
        return None
    return Campaign.objects.filter(pk=pk, status=Campaign.Status.DRAFT, archived_at__isnull=True).first()


def _remember(request, key, campaign):
    if not key:
        return
    made = dict(list(request.session.get(SESSION_KEY, {}).items())[-(REMEMBERED - 1) :])
    made[key] = campaign.pk
    request.session[SESSION_KEY] = made
