from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from accounts.access import requires
from accounts.params import positive_int
from delivery.actions import settings as settings_actions
from delivery.forms import ApnsForm, FcmForm, LimitsForm, throttle_example
from delivery.models import DeliverySettings
from delivery.status import system_status


def status(request):
    """The workers-and-beat panel; the dashboard refreshes it with htmx."""
    context = system_status()
    context["show_entries"] = request.GET.get("entries") == "1"
    return render(request, "delivery/_status.html", context)


# Settings → Delivery. Each section is a partial of delivery/_settings.html, included in
# the Settings page. With htmx a POST answers its section (422 with the errors beside the
# fields); a plain POST answers 303 back to the Settings page, or this app's own Delivery
# page with the errors (422), so the forms work without JavaScript too.


def settings_context(**forms):
    current = DeliverySettings.load()
    return {
        "delivery": current,
        "limits_form": forms.get("limits_form") or LimitsForm(instance=current),
        "fcm_form": forms.get("fcm_form") or FcmForm(initial={"project_id": current.fcm_project_id}),
        "apns_form": forms.get("apns_form") or ApnsForm(initial=_apns_initial(current)),
        "throttle_hint": throttle_example(current.throttle_per_15_min),
        "saved": forms.get("saved"),
    }


def _apns_initial(current):
    return {
        "team_id": current.apns_team_id,
        "key_id": current.apns_key_id,
        "topic": current.apns_topic,
        "sandbox": current.apns_sandbox,
    }


def _answer(request, section, *, invalid=None):
    """The section's partial for htmx; otherwise back to Settings, or the Delivery page with the errors."""
    forms = {f"{section}_form": invalid} if invalid else {"saved": section}
    code = 422 if invalid else 200
    if request.htmx:
        return render(request, f"delivery/_settings.html#{section}", settings_context(**forms), status=code)
    if invalid:
        return render(request, "delivery/settings.html", settings_context(**forms), status=code)
    response = redirect(f"{reverse('settings')}#delivery-{section}")
    response.status_code = 303  # the browser follows with a GET
    return response


@requires(roles.MANAGE_SETTINGS)
@require_GET
def delivery_settings(request):
    return render(request, "delivery/settings.html", settings_context())


@requires(roles.MANAGE_SETTINGS)
@require_GET
def throttle_hint(request):
    """The throttle's meaning for the number being typed (the form asks as you type)."""
    value = request.GET.get("throttle_per_15_min", "").strip()
    per_15_min = positive_int(value)
    return render(request, "delivery/_settings.html#throttle-hint", {"throttle_hint": throttle_example(per_15_min)})


@requires(roles.MANAGE_SETTINGS)
@require_POST
def save_limits(request):
    form = LimitsForm(request.POST, instance=DeliverySettings.load())
    if not form.is_valid():
        return _answer(request, "limits", invalid=form)
    settings_actions.do_save_limits(user=request.user, **form.cleaned_data)
    return _answer(request, "limits")


@sensitive_post_parameters("service_account")
@requires(roles.MANAGE_SETTINGS)
@require_POST
def save_fcm(request):
    form = FcmForm(request.POST, request.FILES, has_key=bool(DeliverySettings.load().fcm_service_account))
    if not form.is_valid():
        return _answer(request, "fcm", invalid=form)
    settings_actions.do_set_fcm_credentials(
        project_id=form.cleaned_data["project_id"],
        service_account_json=form.cleaned_data["service_account_json"],
        user=request.user,
    )
    return _answer(request, "fcm")


@requires(roles.MANAGE_SETTINGS)
@require_POST
def remove_fcm(request):
    settings_actions.do_remove_fcm_credentials(user=request.user)
    return _answer(request, "fcm")


@sensitive_post_parameters("private_key")
@requires(roles.MANAGE_SETTINGS)
@require_POST
def save_apns(request):
    form = ApnsForm(request.POST, request.FILES, has_key=bool(DeliverySettings.load().apns_private_key))
    if not form.is_valid():
        return _answer(request, "apns", invalid=form)
    data = form.cleaned_data
    settings_actions.do_set_apns_credentials(
        team_id=data["team_id"],
        key_id=data["key_id"],
        topic=data["topic"],
        sandbox=data["sandbox"],
        private_key=data["private_key"],
        user=request.user,
    )
    return _answer(request, "apns")


@requires(roles.MANAGE_SETTINGS)
@require_POST
def remove_apns(request):
    settings_actions.do_remove_apns_credentials(user=request.user)
    return _answer(request, "apns")
