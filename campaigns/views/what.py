"""The What step. (Placeholder: being built in this session.)"""

from django.urls import path

from campaigns.views.wizard import Step, editable, go_next, render_step

STEP = Step.WHAT


@editable
def step(request, campaign):
    if request.method == "POST":
        return go_next(request, campaign, STEP)
    return render_step(request, campaign, STEP, {})


urlpatterns = [
    path("<int:pk>/what/", step, name="what"),
]
