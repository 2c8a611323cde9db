"""The Overview step: every choice in words, what is still missing, then Schedule
(past-behaviour kinds) or Publish (live kinds and exit intent).

Times are checked again each time the page is drawn and when Schedule is pressed (the
wizard may have taken longer than the margin a one-time send had). A passed send time is
fixed in place: a small form sends it now or at a new time, judged by the When step's own
form (``WhenForm.correcting``), saved as the When step and then scheduled.

The personalisation lint (``campaigns/actions/lint.py``) renders the message for a sample of the
audience each time the page is drawn; when it finds something, Schedule needs "Send
anyway" ticked (``lifecycle.check_lint``) and says so at that box."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone

from campaigns import schedule, summary
from campaigns.actions import forecast, lifecycle, lint
from campaigns.actions.drafts import do_save_step
from campaigns.forms.when import WhenForm
from campaigns.models import Campaign
from campaigns.views.wizard import Step, editable, render_step, step_url

STEP = Step.OVERVIEW


@editable
def step(request, campaign):
    error, fix, report, anyway_error = "", None, None, ""
    if request.method == "POST":
        if request.POST.get("action") == "fix-time":
            fix = WhenForm.correcting(campaign, request.POST)
            if fix.is_valid():
                do_save_step(campaign, Step.WHEN, fix, user=request.user)
                fix = None
        if fix is None:
            try:
                lifecycle.do_schedule(campaign, user=request.user, send_anyway=request.POST.get("send_anyway") == "1")
            except lifecycle.NeedsSendAnyway as refusal:
                anyway_error, report = str(refusal), refusal.report
            except lifecycle.LifecycleError as refusal:
                error = str(refusal)
            else:
                return _scheduled(request, campaign)
    now = timezone.now()
    problems = [
        {"message": problem.message, "url": step_url(campaign, problem.step), "step": Step(problem.step).label}
        for problem in lifecycle.problems(campaign, now=now)
    ]
    if fix is None and schedule.passed(campaign, now):
        fix = WhenForm(campaign=campaign, now=now)
    context = {
        "sections": summary.sections(campaign, now=now),
        "problems": problems,
        "publishes": publishes(campaign),
        "error": error,
        "fix": fix,
        "lint": report if report is not None else lint.lint(campaign, now=now),
        "anyway_error": anyway_error,
        "forecast": forecast.panel(campaign, [], now=now),
    }
    refused = error or anyway_error or (fix is not None and fix.is_bound)
    return render_step(request, campaign, STEP, context, status=422 if refused else 200)


def _scheduled(request, campaign):
    verb = "published" if publishes(campaign) else "scheduled"
    messages.success(request, f"“{campaign.name}” is {verb}.")
    response = redirect("campaigns:detail", campaign.pk)
    response.status_code = 303
    return response


def publishes(campaign):
    """Live and exit-intent campaigns go live at once: they are published, not scheduled."""
    return campaign.is_live or campaign.channel == Campaign.Channel.EXIT_INTENT


urlpatterns = [
    path("<int:pk>/overview/", step, name="overview"),
]
