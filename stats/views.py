"""The stats pages: the list, one campaign's numbers, its CSV exports, and click links.

Every number comes from the roll-ups (``stats.reports``), so a page costs a handful of small
queries however many messages the campaign sent.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts import roles
from accounts.access import requires
from accounts.params import positive_int
from campaigns import counts, schedule
from campaigns.models import Campaign
from stats import charts, exports, reports
from stats.actions.tracking import do_record_engagement
from stats.links import BadLink, read_click_token

TABS = ("overview", "errors")


@requires(roles.VIEW_STATS)
def index(request):
    return render(request, "stats/index.html", {"rows": reports.listed()})


def glossary(request):
    """What each count on every page means (campaigns/counts.py): any signed-in user, Viewers too."""
    return render(request, "stats/glossary.html", {"terms": counts.TERMS.values(), "reasons": counts.NOT_SENT_REASONS})


def _choices(request, campaign):
    """The run, period and tab asked for; a run of another campaign is a 404."""
    # Live campaigns make a run per evaluation batch (campaigns/live): too many to pick from,
    # so they are read as a whole; the others offer their latest runs.
    runs = (
        [] if campaign.is_live else list(campaign.runs.filter(started_at__isnull=False).order_by("-planned_at")[:200])
    )
    run_id = request.GET.get("run", "")
    if run_id and positive_int(run_id) is None:
        raise Http404("No such run.")
    run = get_object_or_404(campaign.runs, pk=positive_int(run_id)) if run_id else None
    period = request.GET.get("period") if request.GET.get("period") in reports.PERIODS else "day"
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "overview"
    return runs, run, period, tab


@requires(roles.VIEW_STATS)
def campaign_stats(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    runs, run, period, tab = _choices(request, campaign)
    points = reports.trend(campaign, run, period)
    context = {
        "campaign": campaign,
        "runs": runs,
        "run": run,
        "period": period,
        "periods": reports.PERIODS,
        "tab": tab,
        "numbers": reports.totals(campaign, run),
        # A Push permission request's banner counts (campaigns/counts.py PROMPT_TERMS).
        "prompts": counts.prompt_counts(campaign) if campaign.channel == Campaign.Channel.PERMISSION_REQUEST else None,
        "run_counts": counts.RUN_COUNTS,
        "points": points,
        "chart": charts.trend_chart(points, period) if points else None,
        "variants": reports.variants(campaign, run),
        "versions": [] if run else reports.versions(campaign),
        "control": reports.control(campaign, run),
        "errors": reports.errors(campaign, run),
        "query": _query(run, period),
        "tz": timezone.get_current_timezone_name(),
        "goal_window": schedule.duration(campaign.goal_window_minutes) if campaign.goal_window_minutes else "",
    }
    template = "stats/campaign.html#body" if request.htmx else "stats/campaign.html"
    return render(request, template, context)


def _query(run, period):
    return f"run={run.pk}&period={period}" if run else f"period={period}"


@requires(roles.VIEW_STATS)
def campaign_csv(request, pk, table):
    campaign = get_object_or_404(Campaign, pk=pk)
    if table not in exports.TABLES:
        return HttpResponseBadRequest(f"No table {table!r}: choose one of {', '.join(exports.TABLES)}.")
    _, run, period, _ = _choices(request, campaign)
    return exports.response(campaign, run, period, table)


@login_not_required
@never_cache
def click(request, token):
    """A click on a signed link: recorded once for its message, then on to its target."""
    try:
        message_id, url = read_click_token(token)
    except BadLink:
        return HttpResponseBadRequest("This link is not valid.")
    do_record_engagement(message_id, "clicked", timezone.now())
    return HttpResponseRedirect(url)
