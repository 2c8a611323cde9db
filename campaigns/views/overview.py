"""The Overview step: every choice in words, what is still missing, then Schedule
(past-behaviour kinds) or Publish (live kinds and exit intent)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path

from campaigns import summary
from campaigns.actions import lifecycle
from campaigns.models import Campaign
from campaigns.views.wizard import Step, editable, render_step, step_url

STEP = Step.OVERVIEW


@editable
def step(request, campaign):
    error = ""
    if request.method == "POST":
        try:
            lifecycle.do_schedule(campaign, user=request.user)
        except lifecycle.LifecycleError as refusal:
            error = str(refusal)
        else:
            verb = "published" if publishes(campaign) else "scheduled"
            messages.success(request, f"“{campaign.name}” is {verb}.")
            response = redirect("campaigns:detail", campaign.pk)
            response.status_code = 303
            return response
    problems = [
        {"message": problem.message, "url": step_url(campaign, problem.step), "step": Step(problem.step).label}
        for problem in lifecycle.problems(campaign)
    ]
    context = {
        "sections": summary.sections(campaign),
        "problems": problems,
        "publishes": publishes(campaign),
        "error": error,
    }
    return render_step(request, campaign, STEP, context, status=422 if error else 200)


def publishes(campaign):
    """Live and exit-intent campaigns go live at once: they are published, not scheduled."""
    return campaign.is_live or campaign.channel == Campaign.Channel.EXIT_INTENT


urlpatterns = [
    path("<int:pk>/overview/", step, name="overview"),
]
