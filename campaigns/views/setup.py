"""The Setup step: control group, labels and the conversion goal."""

from django.shortcuts import render
from django.urls import path

from campaigns.actions.drafts import do_save_step
from campaigns.forms.setup import SetupForm
from campaigns.views.wizard import Step, editable, go_next, invalid, render_step

STEP = Step.SETUP


@editable
def step(request, campaign):
    if request.method == "POST":
        form = SetupForm(request.POST, campaign=campaign)
        if form.is_valid():
            do_save_step(campaign, STEP, form, user=request.user)
            return go_next(request, campaign, STEP)
        return invalid(request, campaign, STEP, _context(form))
    form = SetupForm(initial=SetupForm.initial_for(campaign), campaign=campaign)
    if request.htmx and "goal_event" in request.GET:
        # The goal event changed: offer its properties for the filters and revenue.
        event = request.GET["goal_event"].strip()[:200]
        context = {
            "event_properties": form.event_properties(event),
            "revenue_properties": form.numeric_properties(event),
        }
        return render(request, "campaigns/wizard/setup.html#goal-properties", context)
    return render_step(request, campaign, STEP, _context(form))


def _context(form):
    event = (form["goal_event"].value() or "") if form.asks_goal else ""
    return {
        "form": form,
        "filter_rows": form.filter_rows(),
        "events": form.events,
        "event_properties": form.event_properties(event),
        "revenue_properties": form.numeric_properties(event),
    }


urlpatterns = [
    path("<int:pk>/setup/", step, name="setup"),
]
