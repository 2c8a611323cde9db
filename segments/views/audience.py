from collections import Counter
from functools import partial
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F, Prefetch
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts import roles
from accounts.access import requires
from accounts.params import positive_int
from segments import tasks
from segments.actions.imports import MAX_ERRORS, export_lines, start_import
from segments.forms.audience import ProfileImportForm, ProfileSearchForm
from segments.models import Device, Profile, ProfileImport

PER_PAGE = 50
LATEST_EVENTS = 50
# Badge colours of clarion.css for each push status.
STATUS_BADGE = {"allowed": "ok", "blocked": "bad", "suspended": "warn", "unsupported": "warn", "ask": ""}


@requires(roles.MANAGE_SEGMENTS)
def audience(request):
    form = ProfileSearchForm(request.GET)
    devices = Device.objects.only("profile_id", "platform", "push_status", "retired_at")
    profiles = (
        form.profiles()
        .only("identity", "name", "email", "country", "city", "is_test", "last_seen_at")
        .prefetch_related(Prefetch("devices", queryset=devices))
    )
    rows, newer, older = _keyset_page(profiles, request.GET)
    context = {
        "form": form,
        "rows": [{"profile": profile, "devices": _device_summary(profile.devices.all())} for profile in rows],
        "newer": newer,
        "older": older,
        "filtered": any(form.cleaned_data.values()),
    }
    if not rows and not context["filtered"]:
        context["no_profiles"] = not Profile.objects.exists()
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "segments/audience.html#results", context)
    return render(request, "segments/audience.html", context)


def _keyset_page(profiles, params):
    """One page, newest first, and the ids to ask for the newer or older page.

    Pages are found by id ("after" / "before" one) instead of by number: no COUNT
    over a million profiles, and the last page is as quick as the first."""
    after, before = positive_int(params.get("after")), positive_int(params.get("before"))
    if before:
        page = list(profiles.filter(pk__gt=before).order_by("pk")[: PER_PAGE + 1])
        has_newer = len(page) > PER_PAGE
        page = page[:PER_PAGE][::-1]
        has_older = bool(page)
    else:
        if after:
            profiles = profiles.filter(pk__lt=after)
        page = list(profiles.order_by("-pk")[: PER_PAGE + 1])
        has_older = len(page) > PER_PAGE
        page = page[:PER_PAGE]
        has_newer = bool(after and page)
    return page, page[0].pk if has_newer else None, page[-1].pk if has_older else None


def _device_summary(devices):
    """[{platform, count, statuses: [(label, badge, n)]}] per platform."""
    summary = {}
    for device in devices:
        entry = summary.setdefault(device.platform, {"platform": device.get_platform_display(), "statuses": Counter()})
        entry["statuses"][_status(device)] += 1
    return [
        {
            "platform": entry["platform"],
            "count": entry["statuses"].total(),
            "statuses": [(label, badge, n) for (label, badge), n in sorted(entry["statuses"].items())],
        }
        for entry in summary.values()
    ]


def _status(device):
    if device.retired_at:
        return ("Retired", "bad")
    return (device.get_push_status_display(), STATUS_BADGE[device.push_status])


def profile_context(person, *, now=None):
    """What a profile's page shows from this app: the person, their devices and latest
    events. The page itself is composed in config/profile_page.py, which adds the
    messages the person received: those belong to delivery and campaigns, above this app."""
    now = now or timezone.now()
    devices = [
        {"device": device, "address": address_hint(device), "status": _status(device)}
        for device in person.devices.order_by(F("last_seen_at").desc(nulls_last=True), "-pk")
    ]
    events = list(person.events.order_by("-occurred_at", "-pk")[:LATEST_EVENTS])
    for event in events:
        event.shown_properties = _shown(event.properties)
    return {
        "person": person,
        "age": person.age_on(now.date()),  # the day the age condition counts from (segments/rules/compiler.py)
        "location": ", ".join(part for part in (person.city, person.region, person.country) if part),
        "properties": _shown(person.properties),
        "devices": devices,
        "reachable": sum(1 for row in devices if row["device"].reachable),
        "events": events,
    }


def _shown(properties):
    """Custom properties as (name, text) pairs, in name order."""
    return [(name, _text(value)) for name, value in sorted(properties.items())]


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return "—" if value is None else str(value)


def address_hint(device):
    """Enough of a push address to tell devices apart. A token or endpoint is a
    credential to send to this person, so it is never shown whole."""
    if device.endpoint:
        return f"{urlsplit(device.endpoint).hostname or ''} …{device.endpoint[-8:]}".strip()
    return f"…{device.token[-8:]}" if device.token else ""


@requires(roles.MANAGE_SEGMENTS)
def import_form(request):
    form = ProfileImportForm(request.POST, request.FILES) if request.method == "POST" else ProfileImportForm()
    if form.is_bound and form.is_valid():
        with transaction.atomic():
            profile_import = start_import(form.cleaned_data["file"], request.user, form.rows)
            transaction.on_commit(partial(tasks.import_profiles.delay, profile_import.pk))
        return redirect("segments:import-status", profile_import.pk)
    context = {"form": form, "imports": ProfileImport.objects.select_related("created_by")[:10]}
    # 422 so htmx (and tests) can tell a refused upload from a page view.
    return render(request, "segments/import.html", context, status=422 if form.errors else 200)


@requires(roles.MANAGE_SEGMENTS)
def import_status(request, pk):
    profile_import = get_object_or_404(ProfileImport.objects.select_related("created_by"), pk=pk)
    context = {
        "profile_import": profile_import,
        "finished": profile_import.finished_at is not None,
        "max_errors": MAX_ERRORS,
    }
    if request.htmx:
        return render(request, "segments/import_status.html#progress", context)
    return render(request, "segments/import_status.html", context)


@requires(roles.MANAGE_SEGMENTS)
def export(request):
    profiles = ProfileSearchForm(request.GET).profiles()
    response = StreamingHttpResponse(export_lines(profiles), content_type="text/csv; charset=utf-8")
    filename = f"profiles-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
