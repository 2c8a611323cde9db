"""The When step: the schedule of a past-behaviour campaign or the trigger of a live
one, start and end, and how delivery behaves (each person's time zone, DND hours,
a cut-off, global limits). The page shows the next runs the schedule makes."""

from copy import copy

from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from campaigns import schedule
from campaigns.actions.changes import when_problem
from campaigns.actions.drafts import do_save_step
from campaigns.forms.when import BLANK_FILTER, TIMEZONES, WhenForm, edit_rows
from campaigns.views.changes import confirm_or_change
from campaigns.views.wizard import Step, editable, go_next, invalid, render_step
from segments.forms.builder import Types, known_events

STEP = Step.WHEN
NEXT_RUNS = 5
# Buttons that change how many rows a list has: the page is drawn again, nothing saved.
ROW_ACTIONS = {"add-date": "dates", "remove-date": "dates", "add-filter": "filters", "remove-filter": "filters"}


@editable(step=STEP)
def step(request, campaign):
    if request.method != "POST":
        return render_step(request, campaign, STEP, _context(campaign, WhenForm(campaign=campaign)))
    action = request.POST.get("action", "continue")
    rows = ROW_ACTIONS.get(action.split(" ", 1)[0])
    if rows:
        form = WhenForm(request.POST, campaign=campaign, quiet=True)
        form.date_rows = edit_rows(form.date_rows, action, "date", "")
        form.filters = edit_rows(form.filters, action, "filter", BLANK_FILTER)
        context = _context(campaign, form)
        if request.htmx:
            return _partial(request, campaign, rows, context)
        return render_step(request, campaign, STEP, context)
    form = WhenForm(request.POST, campaign=campaign)
    if form.is_valid():
        if not campaign.is_draft:  # already out: the schedule changes after a confirmation
            if problem := when_problem(campaign, form):
                form.add_error(None, problem)
                return invalid(request, campaign, STEP, _context(campaign, form))
            return confirm_or_change(request, campaign, STEP, form)
        do_save_step(campaign, STEP, form, user=request.user)
        return go_next(request, campaign, STEP)
    return invalid(request, campaign, STEP, _context(campaign, form))


@editable(step=STEP)
def preview(request, campaign):
    """The next runs and the schedule in words for what the form holds now, unsaved."""
    form = WhenForm(request.POST or None, campaign=campaign)
    probe = None
    if form.is_bound and form.is_valid():
        probe = copy(campaign)
        form.apply(probe)
    context = {"campaign": campaign, **_runs(probe)}
    return render(request, "campaigns/wizard/when.html#runs", context)


def _partial(request, campaign, rows, context):
    response = render(request, f"campaigns/wizard/when.html#{rows}", {"campaign": campaign, **context})
    # The button belongs to the boosted step form; answer with only its list.
    response["HX-Retarget"] = f"#when-{rows}"
    response["HX-Reswap"] = "outerHTML show:none"
    return response


def _context(campaign, form):
    context = {"form": form, "timezones": TIMEZONES, **_runs(campaign if STEP in campaign.steps_done else None)}
    if "trigger_event" in form.fields:
        event = form["trigger_event"].value() or ""
        context["events"] = known_events(Types.load())
        context["date_properties"] = WhenForm.date_properties(event.strip()) if event else []
        context["filter_ops"] = WhenForm.FILTER_OPS
    return context


def _runs(campaign):
    """The schedule in words and its next runs, in the campaign's time zone."""
    if campaign is None:
        return {"summary": None, "runs": []}
    tz = schedule.zone(campaign.timezone)
    runs = schedule.upcoming(campaign, after=timezone.now(), count=NEXT_RUNS)
    return {
        "summary": schedule.describe(campaign),
        "runs": [moment.astimezone(tz) for moment in runs],
        "sends_now": campaign.send_now and not campaign.scheduled_at,
    }


urlpatterns = [
    path("<int:pk>/when/", step, name="when"),
    path("<int:pk>/when/preview/", preview, name="when-preview"),
]
