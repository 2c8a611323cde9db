"""The campaign list, a campaign's own page (summary, lifecycle buttons, run history,
live counters, the audit history), and the lifecycle buttons' POST endpoints."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import audit, roles
from accounts.access import requires
from campaigns import schedule, summary
from campaigns.actions import lifecycle
from campaigns.forms.listing import ListFilterForm
from campaigns.models import Campaign, CampaignRun
from delivery.models import Message

PER_PAGE = 25
# The buttons, in the order shown: (action, label, on the list too).
BUTTONS = [
    ("pause", "Pause", True),
    ("resume", "Resume", True),
    ("unschedule", "Back to draft", False),
    ("stop", "Stop", True),
    ("archive", "Archive", True),
    ("duplicate", "Duplicate", True),
]
DO = {
    "pause": lifecycle.do_pause,
    "resume": lifecycle.do_resume,
    "unschedule": lifecycle.do_unschedule,
    "stop": lifecycle.do_stop,
    "archive": lifecycle.do_archive,
}
# Message statuses that can still change: while a run has any, its counters refresh.
MOVING = (Message.Status.QUEUED, Message.Status.SENDING, Message.Status.HELD)
IN_PROGRESS = (CampaignRun.Status.RUNNING, CampaignRun.Status.PAUSED)
COUNTED = ("queued", "sending", "sent", "failed", "held", "dropped")


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
    # One aggregate for the page: messages sent across each campaign's runs, the A/B
    # winner's sends to the rest (a run's ``remainder`` dispatch) included.
    campaign_of = Coalesce("dispatch__run__campaign", "dispatch__remainder_of_run__campaign")
    sent = dict(
        Message.objects.filter(
            Q(dispatch__run__campaign__in=campaigns) | Q(dispatch__remainder_of_run__campaign__in=campaigns),
            status=Message.Status.SENT,
        )
        .values_list(campaign_of)
        .annotate(count=Count("pk"))
    )
    return [
        {
            "campaign": campaign,
            "next_run": _next_run(campaign, now),
            "sent": sent.get(campaign.pk, 0),
            "actions": _buttons(campaign, on_list=True) if can_manage else [],
        }
        for campaign in campaigns
    ]


def _next_run(campaign, now):
    """ "live" for a running live campaign, the next planned time of a scheduled one
    (as {at, text} in its own time zone), or None."""
    if campaign.status == Campaign.Status.RUNNING and (
        campaign.is_live or campaign.channel == Campaign.Channel.EXIT_INTENT
    ):
        return "live"
    if campaign.status != Campaign.Status.SCHEDULED or campaign.is_live or campaign.next_run_at is None:
        return None
    # The schedule row the dispatcher fires (campaigns/actions/runs.py), not a recomputation.
    at, tz = campaign.next_run_at, schedule.zone(campaign.timezone)
    return {"at": at, "text": f"{at.astimezone(tz):%d %b %Y %H:%M} {tz.key}"}


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
    runs = list(campaign.runs.select_related("dispatch"))
    counts = _run_counts(runs)
    for run in runs:
        run.counts = counts[run.pk]
    current = next((run for run in runs if run.status in IN_PROGRESS), None)
    can_manage = request.user.has_perm(roles.MANAGE_CAMPAIGNS)
    context = {
        "campaign": campaign,
        "sections": summary.sections(campaign),
        "runs": runs,
        "live": _live(campaign, current, counts[current.pk] if current else None),
        "actions": _buttons(campaign, on_list=False) if can_manage else [],
        "can_manage": can_manage,
        "error": error,
        "here": request.get_full_path(),
        "history": audit.history(campaign) if request.user.has_perm(roles.VIEW_AUDIT) else None,
    }
    return render(request, "campaigns/detail.html", context, status=status)


@requires(roles.VIEW_CAMPAIGNS)
def live_counters(request, pk):
    """The counters of the run in progress, for htmx polling (every 2 s while moving)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    current = campaign.runs.filter(status__in=[CampaignRun.Status.RUNNING, CampaignRun.Status.PAUSED]).first()
    context = {
        "campaign": campaign,
        "live": _live(campaign, current, _run_counts([current])[current.pk] if current else None),
    }
    return render(request, "campaigns/_detail_live.html", context)


def _run_counts(runs):
    """{run id: {status: count}} over each run's dispatch and its A/B remainder, in one query."""
    ids = {dispatch_id for run in runs for dispatch_id in (run.dispatch_id, run.remainder_id) if dispatch_id}
    by_dispatch = _counts(ids)
    zero = dict.fromkeys(COUNTED, 0)
    return {
        run.pk: {
            status: sum(
                by_dispatch.get(dispatch_id, zero)[status] for dispatch_id in (run.dispatch_id, run.remainder_id)
            )
            for status in COUNTED
        }
        for run in runs
    }


def _counts(dispatch_ids):
    """{dispatch id: {status: count}} from one GROUP BY over the dispatches' messages."""
    found = {dispatch_id: dict.fromkeys(COUNTED, 0) for dispatch_id in dispatch_ids}
    rows = Message.objects.filter(dispatch__in=dispatch_ids).values_list("dispatch", "status").annotate(n=Count("pk"))
    for dispatch_id, message_status, count in rows:
        found[dispatch_id][message_status] = count
    return found


def _live(campaign, run, counts):
    if run is None:
        return None
    counts = counts or dict.fromkeys(COUNTED, 0)
    moving = run.status == CampaignRun.Status.RUNNING and any(counts[status] for status in MOVING)
    return {"run": run, "counts": counts, "polling": moving, "url": reverse("campaigns:live", args=[campaign.pk])}


@require_POST
@requires(roles.MANAGE_CAMPAIGNS)
def lifecycle_action(request, pk, action):
    campaign = get_object_or_404(Campaign, pk=pk)
    if action == "duplicate":
        copy = lifecycle.do_duplicate(campaign, user=request.user)
        messages.success(request, f"Made “{copy.name}”, a draft: check it and schedule it when ready.")
        return _see_other(reverse("campaigns:overview", args=[copy.pk]))
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
    *(
        path(f"<int:pk>/{action}/", lifecycle_action, {"action": action}, name=action)
        for action, _label, _listed in BUTTONS
    ),
]
