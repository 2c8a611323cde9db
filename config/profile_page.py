"""A profile's page, composed here because it shows more than the segments app may know.

segments owns the person, their devices and events (``segments.views.audience.profile_context``);
the messages they received are delivery's rows, and which campaign each came from is
campaigns' (``campaigns.profile_messages``). Imports flow downward (accounts < segments <
delivery < campaigns < stats), so segments cannot ask for them; config composes every app,
as the home and Settings pages do. The page's template extends segments' one."""

from django.shortcuts import get_object_or_404, render

from accounts import roles
from accounts.access import requires
from campaigns.profile_messages import received_by
from segments.models import Profile
from segments.views.audience import profile_context


@requires(roles.MANAGE_SEGMENTS)
def profile(request, pk):
    person = get_object_or_404(Profile, pk=pk)
    return render(request, "dashboard/profile.html", {**profile_context(person), "received": received_by(person)})
