"""Pages that compose several apps: the dashboard home and Settings.

They live here, above the apps, because a lower app never imports a higher one
(DESIGN.md) and these pages draw on all of them.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import audit, roles
from accounts.access import requires
from accounts.views import user_rows
from config.forms import ApiKeyForm, SiteForm
from delivery import vapid
from delivery import views as delivery_views
from delivery.actions.settings import do_generate_vapid_key
from delivery.models import DeliverySettings, VapidKey
from delivery.status import system_status
from segments.actions.keys import create_api_key, revoke_api_key
from segments.actions.sites import do_create_site, do_delete_site, do_set_identity_verification
from segments.models import ApiKey, Site
from stats import reports as stats_reports


def home(request):
    figures = stats_reports.dashboard() if request.user.has_perm(roles.VIEW_STATS) else None
    return render(request, "dashboard/home.html", {"figures": figures})


def _settings_context(**extra):
    return {
        "api_keys": ApiKey.objects.select_related("created_by"),
        "sites": Site.objects.all(),
        "vapid_public_key": vapid.current_public_key(),
        "base_url": settings.PUBLIC_BASE_URL,
        "key_form": ApiKeyForm(),
        "site_form": SiteForm(),
        **extra,
    }


@requires(roles.MANAGE_SETTINGS)
def settings_page(request):
    users = get_user_model().objects.prefetch_related("groups").order_by("username")
    context = _settings_context(rows=user_rows(users), roles=roles.ROLES, **system_status(), show_entries=True)
    context.update(delivery_views.settings_context())
    # Who changed keys, sites, credentials and roles (accounts/audit.py): the latest, newest first.
    context.update(history=audit.history_of(ApiKey, Site, DeliverySettings, VapidKey, get_user_model()))
    return render(request, "dashboard/settings.html", context)


def _section(request, name, status=200, **extra):
    return render(request, f"dashboard/settings.html#{name}", _settings_context(**extra), status=status)


@require_POST
@requires(roles.MANAGE_SETTINGS)
def create_key(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _section(request, "api-keys", status=422, key_form=form)
    key, full_key = create_api_key(
        form.cleaned_data["name"], created_by=request.user, rate_per_minute=form.cleaned_data["rate_per_minute"]
    )
    return _section(request, "api-keys", new_key=full_key, new_key_id=key.pk)


@require_POST
@requires(roles.MANAGE_SETTINGS)
def revoke_key(request, key_id):
    revoke_api_key(get_object_or_404(ApiKey, pk=key_id), user=request.user)
    return _section(request, "api-keys")


@require_POST
@requires(roles.MANAGE_SETTINGS)
def create_site(request):
    form = SiteForm(request.POST)
    if not form.is_valid():
        return _section(request, "sites", status=422, site_form=form)
    do_create_site(form.cleaned_data["name"], form.cleaned_data["origins"], user=request.user)
    return _section(request, "sites")


@require_POST
@requires(roles.MANAGE_SETTINGS)
def delete_site(request, site_id):
    do_delete_site(get_object_or_404(Site, pk=site_id), user=request.user)
    return _section(request, "sites")


@require_POST
@requires(roles.MANAGE_SETTINGS)
def verify_identities(request, site_id):
    # Off only when the form says "off": a post without the field (an unticked
    # checkbox sent nothing) is a mistake, not an Admin's choice to accept the risk.
    choice = request.POST.get("verify")
    if choice not in ("on", "off"):
        return HttpResponseBadRequest("verify must be on or off.")
    do_set_identity_verification(get_object_or_404(Site, pk=site_id), choice == "on", user=request.user)
    return _section(request, "sites")


@require_POST
@requires(roles.MANAGE_SETTINGS)
def generate_vapid(request):
    do_generate_vapid_key(user=request.user)
    return _section(request, "sites")


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
