"""Changing a campaign that is already out (scheduled, running or paused), and stopping one:
each asks for a confirmation first, a page that works without JavaScript.

A changed step (What, When) or the limits page posts its form as usual; a valid form is not
saved but answered with a confirmation page that says what the change does to the messages
already queued (``changes.impact``) and carries the same fields back, hidden, with
``confirmed=yes``. Only that second POST changes anything (``changes.do_change``). Stop works
the same way: its button asks, the confirmation's button stops.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from accounts import roles
from accounts.access import requires
from campaigns.actions import changes, lifecycle
from campaigns.forms.limits import LimitsForm
from campaigns.models import Campaign

CONFIRMED = "confirmed"
# Not carried to the confirmation: the token is the page's own, the others steer the wizard.
NOT_CARRIED = {"csrfmiddlewaretoken", CONFIRMED, "go", "action"}
WHAT_IT_DOES = {
    Campaign.Step.WHAT: "the text of its messages",
    Campaign.Step.WHEN: "its schedule",
    changes.LIMITS: "its limits",
}


def confirmed(request):
    return request.POST.get(CONFIRMED) == "yes"


def confirm_or_change(request, campaign, step, form):
    """For a valid ``form`` of a campaign already out: the confirmation page, or, once
    confirmed, the change and back to the campaign's page (a refusal: the page again, 409)."""
    if confirmed(request):
        try:
            changes.do_change(campaign, step, form, user=request.user)
        except lifecycle.LifecycleError as refusal:
            return _confirmation(request, campaign, step, error=str(refusal), status=409)
        messages.success(request, f"“{campaign.name}”: {WHAT_IT_DOES[step]} changed.")
        return _see_other(reverse("campaigns:detail", args=[campaign.pk]))
    return _confirmation(request, campaign, step)


def _confirmation(request, campaign, step, *, error="", status=200):
    carried = [(name, value) for name, values in request.POST.lists() if name not in NOT_CARRIED for value in values]
    context = {
        "campaign": campaign,
        "step": step,
        "what": WHAT_IT_DOES[step],
        "impact": changes.impact(campaign),
        "carried": carried,
        "post_url": request.path,
        "error": error,
    }
    return render(request, "campaigns/confirm_change.html", context, status=status)


@requires(roles.MANAGE_CAMPAIGNS)
def limits(request, pk):
    """Who's caps of a campaign already out; a draft changes them in its Who step."""
    campaign = get_object_or_404(Campaign, pk=pk, archived_at__isnull=True)
    if campaign.is_draft:
        return redirect("campaigns:who", campaign.pk)
    if not lifecycle.allowed(campaign, "change"):
        messages.info(request, f"“{campaign.name}” is {campaign.get_status_display().lower()}: it cannot change.")
        return redirect("campaigns:detail", campaign.pk)
    form = LimitsForm(request.POST if request.method == "POST" else None, campaign=campaign)
    if request.method == "POST":
        if form.is_valid():
            return confirm_or_change(request, campaign, changes.LIMITS, form)
        return render(request, "campaigns/limits.html", {"campaign": campaign, "form": form}, status=422)
    return render(request, "campaigns/limits.html", {"campaign": campaign, "form": form})


def links(campaign):
    """The campaign page's "Change …" links while it is out: [(label, url)]."""
    if campaign.archived_at or not lifecycle.allowed(campaign, "change"):
        return []
    found = [("Change message", reverse("campaigns:what", args=[campaign.pk]))]
    if campaign.is_live or not (campaign.kind == Campaign.Kind.ONE_TIME and campaign.runs.exists()):
        found.append(("Change schedule", reverse("campaigns:when", args=[campaign.pk])))
    found.append(("Change limits", reverse("campaigns:limits", args=[campaign.pk])))
    return found


def confirm_stop(request, campaign):
    """Stop's question: what stopping drops, and a button that stops (``confirmed=yes``)."""
    context = {
        "campaign": campaign,
        "impact": changes.impact(campaign),
        "back": request.POST.get("next", ""),
    }
    return render(request, "campaigns/confirm_stop.html", context)


def _see_other(url):
    response = redirect(url)
    response.status_code = 303
    return response


urlpatterns = [
    path("<int:pk>/limits/", limits, name="limits"),
]
