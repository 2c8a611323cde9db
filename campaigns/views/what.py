"""The What step: the message type, each variant's content, a live preview, and test sends.

The step posts one form (``campaigns/forms/what``). Its partial endpoints take that same
form: ``variants`` redraws it after adding, copying or removing a variant (nothing is
saved), ``preview`` draws one variant as browsers and phones would show it, ``test``
saves the step and sends a test. ``personalise`` feeds the @ menu.
A saved push (``PushResource``) fills a variant's fields: ``?resource=<id>`` on the step
fills the first, the ``resource:<key>`` edit the variant ``key`` (its ``v<key>-resource``).
"""

import re

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from accounts.params import positive_int
from campaigns import preview as previews
from campaigns import targeting
from campaigns.actions.changes import what_problem
from campaigns.actions.drafts import do_save_step
from campaigns.actions.test_sends import TestSendError, do_send_test, recent_tests
from campaigns.allocation import PROPERTY_FIELDS
from campaigns.forms.what import Browsers, WhatForm, edit
from campaigns.forms.what.fields import form_field_for
from campaigns.forms.what.test_send import TestSendForm
from campaigns.models import Campaign, PushResource
from campaigns.views.changes import confirm_or_change
from campaigns.views.wizard import Step, editable, go_next, invalid, render_step, step_url
from delivery.content import PROFILE_FIELDS
from segments.models import Profile, PropertyDefinition

STEP = Step.WHAT
RECENT_TESTS = 5
MAX_SUGGESTIONS = 30
# Defaults the @ menu writes into a tag, so a profile without the value still reads well.
DEFAULTS = {"first_name": "there", "name": "there", "city": "your city", "country": "your country"}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@editable(step=STEP)
def step(request, campaign):
    if request.method == "POST":
        form = WhatForm(campaign, request.POST)
        if not form.is_valid():
            return invalid(request, campaign, STEP, _context(campaign, form))
        if not campaign.is_draft:  # already out: its messages change after a confirmation
            if problem := what_problem(campaign, form):
                form.settings.add_error("message_type", problem)
                return invalid(request, campaign, STEP, _context(campaign, form))
            return confirm_or_change(request, campaign, STEP, form)
        do_save_step(campaign, STEP, form, user=request.user)
        return go_next(request, campaign, STEP)
    form = WhatForm(campaign)
    _use_resource(campaign, form, form.keys[0], request.GET.get("resource"))
    return render_step(request, campaign, STEP, _context(campaign, form))


@editable(step=STEP)
def variants(request, campaign):
    """Add, copy or remove a variant, or fit them to a new message type; saves nothing."""
    if request.method != "POST":
        return redirect("campaigns:what", campaign.pk)
    op = request.POST.get("op", "")
    form = edit(campaign, request.POST, op)
    action, _, key = op.partition(":")
    if action == "resource":
        _use_resource(campaign, form, key, request.POST.get(f"v{key}-resource"))
    return _draw(request, campaign, form)


def _use_resource(campaign, form, key, chosen):
    """Fill variant ``key`` from the chosen resource of the campaign's channel, if any."""
    if resource := PushResource.objects.filter(pk=positive_int(chosen), channel=campaign.channel).first():
        form.use_resource(key, resource.content)


@editable(step=STEP)
def preview(request, campaign):
    form = WhatForm(campaign, request.POST if request.method == "POST" else None)
    params = request.POST if request.method == "POST" else request.GET
    entries = form.entries
    entry = next((e for e in entries if e.key == params.get("preview_variant")), entries[0])
    content = entry.form.lenient_content()
    if form.leaves_out_safari():
        content["browsers"] = Browsers.NOT_SAFARI
    profile = _test_profile(params.get("preview_profile"))
    shown = previews.preview(campaign, content, profile)
    labels = {name: entry.form[name].label for name in entry.form.fields}
    context = {
        "campaign": campaign,
        "entry": entry,
        "profile": profile,
        "preview": shown,
        "errors": [(labels.get(form_field_for(path), path), message) for path, message in shown.errors.items()],
    }
    return render(request, "campaigns/wizard/_what_preview.html", context)


@editable(step=STEP)
def send_test(request, campaign):
    """Save the step (a test sends what is saved), then send the chosen variant to test
    profiles. A campaign already out is not changed by a test: it sends the text as typed,
    so a fix can be tried before it is confirmed."""
    if request.method != "POST":
        return redirect("campaigns:what", campaign.pk)
    form = WhatForm(campaign, request.POST)
    tests = TestSendForm(request.POST, entries=form.entries)
    valid = form.is_valid()
    if valid and not campaign.is_draft and (problem := what_problem(campaign, form)):
        form.settings.add_error("message_type", problem)
        valid = False
    if not (tests.is_valid() and valid):
        return _draw(request, campaign, form, tests=tests, status=422)
    if campaign.is_draft:
        do_save_step(campaign, STEP, form, user=request.user)
        variant, shown = campaign.variants.get(position=tests.position()), WhatForm(campaign)
    else:
        variant, shown = _as_typed(campaign, form, tests.position()), form
    try:
        sent = do_send_test(campaign, variant, tests.cleaned_data["test_profiles"], request.user)
    except TestSendError as error:
        tests.add_error("test_profiles", str(error))
        return _draw(request, campaign, shown, tests=tests, status=422)
    if request.htmx or not campaign.is_draft:
        # The form comes back with the test at the top of its list of recent tests (and,
        # for a campaign already out, with the unconfirmed text still in it).
        return _draw(request, campaign, shown)
    messages.info(request, f"Test of “{variant.name}”: {sent.get_status_display()}. {sent.note}".strip())
    response = redirect("campaigns:what", campaign.pk)
    response.status_code = 303
    return response


@editable(step=STEP)
def test_list(request, campaign):
    """The recent tests alone, for htmx polling while one is still sending."""
    context = {"campaign": campaign, "test_sends": recent_tests(campaign, RECENT_TESTS)}
    return render(request, "campaigns/wizard/_what_test_list.html", context)


def _as_typed(campaign, form, position):
    """The saved variant at ``position`` with the content of the valid ``form`` (unsaved)."""
    variant = campaign.variants.get(position=position)
    variant.content = dict(form.entries[position].form.content)
    if form.leaves_out_safari():
        variant.content["browsers"] = Browsers.NOT_SAFARI
    return variant


@editable(step=STEP)
def personalise(request, campaign):
    """The @ menu: profile properties, and the trigger event's for a live campaign, each
    with the Liquid tag it inserts. ``q`` filters by name."""
    typed = request.GET.get("q", "")[:50].strip().lower()
    names = ["first_name", *PROFILE_FIELDS]
    custom = PropertyDefinition.objects.filter(scope=PropertyDefinition.Scope.PROFILE).values_list("name", flat=True)
    names += [name for name in custom if name not in names]
    items = [_suggestion("profile", name, "Profile") for name in names]
    if campaign.is_live and campaign.trigger_event:
        event_names = PropertyDefinition.objects.filter(
            scope=PropertyDefinition.Scope.EVENT, event_name=campaign.trigger_event
        ).values_list("name", flat=True)
        items += [_suggestion("event", name, f"Event “{campaign.trigger_event}”") for name in event_names]
    items = [item for item in items if typed in item["label"].lower()][:MAX_SUGGESTIONS]
    return JsonResponse({"items": items})


def _suggestion(scope, name, group):
    # Names that are not identifiers ("customer type") need Liquid's bracket syntax.
    variable = f"{scope}.{name}" if IDENTIFIER.fullmatch(name) else f'{scope}["{name}"]'
    default = DEFAULTS.get(name, "") if scope == "profile" else ""
    return {"label": f"{scope}.{name}", "group": group, "insert": f'{{{{ {variable} | default: "{default}" }}}}'}


def _test_profile(chosen):
    profiles = Profile.objects.filter(is_test=True)
    if positive_int(chosen):
        found = profiles.filter(pk=positive_int(chosen)).first()
        if found:
            return found
    return profiles.order_by("name", "identity").first()


def _context(campaign, form, *, tests=None):
    entries = form.entries
    test_profiles = list(Profile.objects.filter(is_test=True).order_by("name", "identity")[:50])
    return {
        "form": form,
        "entries": entries,
        "tests": tests or TestSendForm(entries=entries),
        "test_profiles": test_profiles,
        "test_sends": recent_tests(campaign, RECENT_TESTS),
        "can_test": campaign.channel not in Campaign.ON_PAGE_CHANNELS,
        "property_names": _property_names(),
        # Seed 002 "Target devices" (chosen in Who): which platforms this content goes to.
        "targets": targeting.describe(campaign) if targeting.is_push(campaign) else "",
        "ignored": targeting.ignored(campaign),
        "resources": PushResource.objects.filter(channel=campaign.channel).only("pk", "name"),
        "urls": {
            name: reverse(f"campaigns:what_{name}", args=[campaign.pk])
            for name in ("variants", "preview", "test", "personalise")
        },
    }


def _property_names():
    custom = PropertyDefinition.objects.filter(scope=PropertyDefinition.Scope.PROFILE).values_list("name", flat=True)
    return sorted({*PROPERTY_FIELDS, *custom})  # the fields a send can read (``allocation``)


def _draw(request, campaign, form, *, tests=None, status=200):
    """The step's form again: only the form for htmx, the whole page without it."""
    context = _context(campaign, form, tests=tests)
    if request.htmx:
        context |= {"campaign": campaign, "step": STEP, "post_url": step_url(campaign, STEP)}
        return render(request, "campaigns/wizard/what.html#form", context, status=status)
    return render_step(request, campaign, STEP, context, status=status)


urlpatterns = [
    path("<int:pk>/what/", step, name="what"),
    path("<int:pk>/what/variants/", variants, name="what_variants"),
    path("<int:pk>/what/preview/", preview, name="what_preview"),
    path("<int:pk>/what/test/", send_test, name="what_test"),
    path("<int:pk>/what/tests/", test_list, name="what_tests"),
    path("<int:pk>/what/personalise/", personalise, name="what_personalise"),
]
