from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from accounts.access import requires
from accounts.actions import do_set_role
from accounts.forms import RoleForm
from accounts.throttle import minutes_left, seconds_left


def user_rows(users):
    return [{"user": user, "role": roles.role_of(user)} for user in users]


@require_POST
@requires(roles.MANAGE_SETTINGS)
def change_role(request, user_id):
    """Set a user's role from the Settings page's users table (an htmx POST); answers
    with the user's row, showing the error next to the select when refused."""
    user = get_object_or_404(get_user_model().objects.prefetch_related("groups"), pk=user_id)
    form = RoleForm(request.POST)
    error = None
    if form.is_valid():
        try:
            do_set_role(user, form.cleaned_data["role"], acting_user=request.user)
        except ValidationError as exc:
            error = exc.message_dict["role"][0]
    else:
        error = form.errors["role"][0]
    user = get_user_model().objects.prefetch_related("groups").get(pk=user.pk)
    row = user_rows([user])[0]
    # 422 so htmx swaps the row with its error in (see htmx-config in base.html).
    status = 422 if error else 200
    return render(
        request,
        "accounts/_user_row.html",
        {"row": row, "roles": roles.ROLES, "error": error, "saved": not error},
        status=status,
    )


def locked_out(request, login_response, credentials):
    """The answer to a login refused by the throttle (AXES_LOCKOUT_CALLABLE), on both
    login pages. 429 with Retry-After (RFC 6585 section 4): the credentials were not
    judged, so 403 would be the wrong word. It names neither the username nor whether
    it exists: a lock on an unknown username looks the same."""
    until = AxesProxyHandler.get_implementation().locked_until(request, credentials)
    until = until or timezone.now() + timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)  # never None when locked
    context = {"minutes": minutes_left(until), "until": until, "login_url": request.path}
    response = render(request, "accounts/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds_left(until))
    return response
