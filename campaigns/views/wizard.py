"""What every wizard step shares: the step order, loading the draft, rendering a step,
and moving on.

A step is its own URL. GET shows the saved draft; POST validates the step's form and,
when valid, saves it through ``campaigns.actions.drafts`` and redirects to the next step
(303), so reload, back and forward always land on a saved state. An invalid POST writes
nothing and answers 422 with the form and its errors next to the fields; without
JavaScript that is an ordinary page, with htmx (the step form is ``hx-boost``-ed) the
same page is swapped in. Partial updates inside a step (reach, preview, variants) are
endpoints of that step's module.
"""

from functools import wraps

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts import roles
from accounts.access import requires
from campaigns.actions import lifecycle
from campaigns.models import Campaign

Step = Campaign.Step
STEPS = [Step.WHO, Step.WHEN, Step.WHAT, Step.SETUP, Step.OVERVIEW]
# Steps whose forms must have validated before the campaign can be scheduled.
REQUIRED_STEPS = [Step.WHO, Step.WHEN, Step.WHAT, Step.SETUP]


def step_url(campaign, step):
    return reverse(f"campaigns:{step}", args=[campaign.pk])


def next_step(step):
    return STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else step


# Steps a scheduled, running or paused campaign may still change (lifecycle.TRANSITIONS
# ["change"]), each through a confirmation that says what happens to its queued messages
# (campaigns/views/changes.py): the messages' text and the schedule. Who's limits have their
# own page there; the audience, the channel and Setup stay as scheduled. A draft: every step.
CHANGEABLE = {Step.WHAT, Step.WHEN}


def editable(view=None, *, step=None):
    """A wizard view: MANAGE_CAMPAIGNS, the campaign by ``pk``, and only while it is a
    draft, or, for a view of a ``step`` in CHANGEABLE, while it is scheduled, running or
    paused (its POST then asks for a confirmation, ``campaigns/views/changes.py``). Any
    other change of a campaign already out goes through its lifecycle actions, not by
    editing it under the dispatcher's feet. Use as ``@editable`` or ``@editable(step=…)``."""
    if view is None:
        return lambda view: editable(view, step=step)

    @requires(roles.MANAGE_CAMPAIGNS)
    @wraps(view)
    def wrapper(request, pk, *args, **kwargs):
        campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk, archived_at__isnull=True)
        if not (campaign.is_draft or (step in CHANGEABLE and lifecycle.allowed(campaign, "change"))):
            messages.info(
                request, f"“{campaign.name}” is {campaign.get_status_display().lower()}; it can no longer be edited."
            )
            return redirect("campaigns:detail", campaign.pk)
        return view(request, campaign, *args, **kwargs)

    return wrapper


def steps_nav(campaign, current):
    """The step bar: each step with its URL, whether it validated, and whether it is this one."""
    return [
        {
            "step": step,
            "label": step.label,
            "url": step_url(campaign, step),
            "done": step in campaign.steps_done,
            "current": step == current,
        }
        for step in STEPS
    ]


def render_step(request, campaign, step, context, *, status=200):
    """Render ``campaigns/wizard/<step>.html`` (which extends ``wizard/base.html``) with the step bar."""
    context = {
        "campaign": campaign,
        "step": step,
        "steps": steps_nav(campaign, step),
        "post_url": step_url(campaign, step),
        **context,
    }
    return render(request, f"campaigns/wizard/{step}.html", context, status=status)


def invalid(request, campaign, step, context):
    """An invalid submission: the same page with the errors, 422, nothing written."""
    return render_step(request, campaign, step, context, status=422)


def go_next(request, campaign, step):
    """After a valid save: the next step, or the one the marketer asked for with
    ``?next=<step>`` (the step bar's links save first and then go there)."""
    wanted = request.POST.get("go") or request.GET.get("next")
    target = wanted if wanted in STEPS else next_step(step)
    response = redirect(step_url(campaign, target))
    response.status_code = 303  # see other: the browser GETs the next step after a POST
    return response
