"""The campaign list, a campaign's own page (summary, lifecycle buttons, run history,
live counters, the audit history), and the lifecycle buttons' POST endpoints. What the
pages report about runs comes from ``campaigns/progress.py``."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import audit, roles
from accounts.access import requires
from campaigns import counts as run_counts
from campaigns import progress, summary
from campaigns.actions import forecast, lifecycle
from campaigns.forms.listing import ListFilterForm
from campaigns.models import Campaign
from campaigns.views import changes

PER_PAGE = 25
# The buttons, in the order shown: (action, label, on the list too).
BUTTONS = [
    ("pause", "Pause", True),
    ("resume", "Resume", True),
    ("unschedule", "Back to draft", False),
    ("stop", "Stop", True),
    ("archive", "Archive", True),
    ("restore", "Restore", True),
    ("duplicate", "Duplicate", True),
]
DO = {
    "pause": lifecycle.do_pause,
    "resume": lifecycle.do_resume,
    "unschedule": lifecycle.do_unschedule,
    "stop": lifecycle.do_stop,
    "archive": lifecycle.do_archive,
    "restore": lifecycle.do_restore,
}


@requires(roles.VIEW_CAMPAIGNS)
def campaign_list(request):
    form = ListFilterForm(request.GET or None)
    campaigns = form.filter(
        Campaign.objects.select_related("owner").prefetch_related("labels").order_by("-updated_at", "-pk"),
        user=request.user,
    )
    page = Paginator(campaigns, PER_PAGE).get_page(request.GET.get("page"))
    can_manage = request.user.has_perm(roles.MANAGE_CAMPAIGNS)
    context = {
        "form": form,
        "page": page,
        "rows": _rows(page.object_list, can_manage=can_manage),
        "can_manage": can_manage,
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
        "none_at_all": not page.object_list and not Campaign.objects.exists(),
        "here": request.get_full_path(),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "campaigns/list.html#results", context)
    return render(request, "campaigns/list.html", context)


def _rows(campaigns, *, can_manage):
    campaigns = list(campaigns)
    now = timezone.now()
    counts = run_counts.sent_by_campaign(campaigns)  # one query for the page
    return [
        {
            "campaign": campaign,
            "next_run": progress.next_run(campaign, now),
            "counts": counts[campaign.pk],
            "actions": _buttons(campaign, on_list=True) if can_manage else [],
        }
        for campaign in campaigns
    ]


def _buttons(campaign, *, on_list):
    return [
        {"action": action, "label": label, "url": reverse(f"campaigns:{action}", args=[campaign.pk])}
        for action, label, listed in BUTTONS
        if (listed or not on_list) and lifecycle.allowed(campaign, action)
    ]


@requires(roles.VIEW_CAMPAIGNS)
def campaign_detail(request, pk):
    return _detail_page(request, pk)


def _detail_page(request, pk, *, error="", status=200):
    campaign = get_object_or_404(Campaign.objects.select_related("segment", "owner"), pk=pk)
    runs = progress.runs(campaign)
    can_manage = request.user.has_perm(roles.MANAGE_CAMPAIGNS)
    context = {
        "campaign": campaign,
        "sections": summary.sections(campaign),
        "runs": runs,
        "counts": run_counts.added(run.counts for run in runs) if runs else None,
        "live": _live(campaign, progress.in_progress(runs)),
        "waiting": _waiting(campaign, runs),
        "actions": _buttons(campaign, on_list=False) if can_manage else [],
        "changes": changes.links(campaign) if can_manage else [],
        "can_manage": can_manage,
        "error": error,
        "here": request.get_full_path(),
        "history": audit.history(campaign) if request.user.has_perm(roles.VIEW_AUDIT) else None,
        "forecast": forecast.panel(campaign, runs, now=timezone.now()),
        "prompts": run_counts.prompt_counts(campaign)
        if campaign.channel == Campaign.Channel.PERMISSION_REQUEST
        else None,
    }
    return render(request, "campaigns/detail.html", context, status=status)


@requires(roles.VIEW_CAMPAIGNS)
def live_counters(request, pk):
    """The counters of the run in progress, for htmx polling (every 2 s while moving)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    context = {"campaign": campaign, "live": _live(campaign, progress.current_run(campaign))}
    return render(request, "campaigns/_detail_live.html", context)


@requires(roles.VIEW_CAMPAIGNS)
def waiting(request, pk):
    """Why the runs in progress wait, for htmx polling (every 15 s while anything does)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    context = {"waiting": _waiting(campaign, progress.runs_in_progress(campaign))}
    return render(request, "campaigns/_detail_waiting.html", context)


def _waiting(campaign, runs):
    found = progress.waiting(runs)
    if found:
        found["url"] = reverse("campaigns:waiting", args=[campaign.pk])
    return found


def _live(campaign, run):
    found = progress.live(run)
    if found:
        found["url"] = reverse("campaigns:live", args=[campaign.pk])
    return found


@require_POST
@requires(roles.MANAGE_CAMPAIGNS)
def lifecycle_action(request, pk, action):
    campaign = get_object_or_404(Campaign, pk=pk)
    if action == "duplicate":
        copy = lifecycle.do_duplicate(campaign, user=request.user)
        messages.success(request, f"Made “{copy.name}”, a draft: check it and schedule it when ready.")
        return _see_other(reverse("campaigns:overview", args=[copy.pk]))
    if action == "stop" and not changes.confirmed(request):
        return changes.confirm_stop(request, campaign)  # nothing changes until its button
    try:
        DO[action](campaign, user=request.user)
    except lifecycle.LifecycleError as refusal:
        return _detail_page(request, pk, error=str(refusal), status=409)
    messages.success(request, f"“{campaign.name}” is {lifecycle.VERBS[action]}.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("campaigns:detail", args=[campaign.pk])
    return _see_other(back)


def _see_other(url):
    response = redirect(url)
    response.status_code = 303
    return response


urlpatterns = [
    path("<int:pk>/", campaign_detail, name="detail"),
    path("<int:pk>/live/", live_counters, name="live"),
    path("<int:pk>/waiting/", waiting, name="waiting"),
    *(
        path(f"<int:pk>/{action}/", lifecycle_action, {"action": action}, name=action)
        for action, _label, _listed in BUTTONS
    ),
]
