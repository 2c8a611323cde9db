"""Pages that compose several apps: the dashboard home and Settings.

They live here, above the apps, because a lower app never imports a higher one
(DESIGN.md) and these pages draw on all of them.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts import roles
from accounts.access import requires
from accounts.views import user_rows
from delivery.status import system_status


def home(request):
    return render(request, "dashboard/home.html")


@requires(roles.MANAGE_SETTINGS)
def settings_page(request):
    users = get_user_model().objects.prefetch_related("groups").order_by("username")
    context = {"rows": user_rows(users), "roles": roles.ROLES, **system_status(), "show_entries": True}
    return render(request, "dashboard/settings.html", context)


@login_not_required
@never_cache
def healthz(request):
    """For load balancers and uptime checks: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy", whatever its type
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
