"""The Who step: a saved segment from a searchable list, or one built in place with
the segment builder (or, for live campaigns, everyone); a push campaign's target devices
(web, native apps or all: ``campaigns.targeting``); the estimated reach per platform (for
a Push permission request, the people its banner can ask: ``targeting.reach_devices``);
reach limits; Web Exit Intent targeting.

The builder's fields are part of the step form. Its buttons (add a condition, remove
one) post the whole step and draw the builder again without saving; its selects post
to ``builder`` here, as they post to the segment page in segments. After any edit of
the audience static/js/reach.js posts the step's fields to ``reach`` and shows its
answer: the reach panel and each condition's message, the shape the segment page's
"estimate" answers too.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from accounts.params import positive_int
from campaigns import targeting
from campaigns.actions.drafts import do_save_step
from campaigns.forms.who import ADHOC, SAVED, WhoForm
from campaigns.views.wizard import Step, editable, go_next, invalid, render_step
from segments import counts
from segments.actions.reach import estimate_reach, refresh_reach, rule_notes
from segments.forms import builder, builder_display
from segments.models import Segment
from segments.rules import RuleError, parse

STEP = Step.WHO
PER_PAGE = 10
CHANNEL_LABELS = {"web": "Web", "android": "Android", "ios": "iOS"}


@editable
def step(request, campaign):
    types = builder.Types.load()
    if request.method != "POST":
        form = WhoForm(campaign=campaign, types=types)
        return render_step(request, campaign, STEP, _context(request, campaign, form, types))
    action = request.POST.get("action", "continue")
    if action == "continue":
        form = WhoForm(request.POST, campaign=campaign, types=types)
        if form.is_valid():
            do_save_step(campaign, STEP, form, user=request.user)
            return go_next(request, campaign, STEP)
        return invalid(request, campaign, STEP, _context(request, campaign, form, types))
    # "estimate" (without JavaScript) or one of the builder's buttons: draw again, save nothing.
    form = WhoForm(request.POST, campaign=campaign, types=types, action=action, quiet=True)
    context = _context(request, campaign, form, types, estimate=action == "estimate")
    if request.htmx and action != "estimate":
        response = render(request, "campaigns/wizard/_who_builder.html", context)
        # The button belongs to the boosted step form; answer with only the builder.
        response["HX-Retarget"] = "#who-builder"
        response["HX-Reswap"] = "outerHTML show:none"
        return response
    return render_step(request, campaign, STEP, context)


@editable
def builder_edit(request, campaign):
    """An edit of the ad-hoc builder's selects: the builder drawn again (the reach is counted apart)."""
    types = builder.Types.load()
    form = WhoForm(request.POST, campaign=campaign, types=types, action="apply", quiet=True)
    return render(request, "campaigns/wizard/_who_builder.html", _context(request, campaign, form, types))


@editable
def reach(request, campaign):
    """The estimated reach of the audience the form holds now (nothing saved), with each
    ad-hoc condition's message beside it."""
    types = builder.Types.load()
    form = WhoForm(request.POST or None, campaign=campaign, types=types, action="estimate", quiet=True)
    context = _context(request, campaign, form, types, estimate=True)
    context["oob_messages"] = form.chosen_audience == ADHOC
    return render(request, "campaigns/wizard/_who_reach.html", context)


@editable
def segments(request, campaign):
    """The saved segments matching the search, a page at a time; the chosen one stays on top."""
    chosen = request.GET.get("segment")
    channels = _list_channels(campaign, list(targeting.platforms(campaign)) or ["web"])
    context = _segment_list(request, campaign, positive_int(chosen), channels=channels)
    return render(request, "campaigns/wizard/_who_segments.html", {"campaign": campaign, **context})


def _context(request, campaign, form, types, *, estimate=False):
    builder_url = reverse("campaigns:who-builder", args=[campaign.pk])
    chosen = form.chosen_segment_id()
    errors, notes, estimated = _estimate(campaign, form) if estimate else (form.rule_errors, {}, None)
    if not estimate and form.chosen_audience == ADHOC and not errors:
        notes = _notes(form.edit.rules)
    root = builder_display.display(form.edit.rules, types=types, errors=errors, notes=notes, focus=form.edit.focus)
    return {
        "form": form,
        "campaign": campaign,
        # What the segment builder's templates need (segments/_builder.html).
        "root": root,
        "nodes": list(builder_display.walk(root)),
        "post_url": builder_url,
        "choices": builder.CHOICES,
        "properties": sorted((name, builder.TYPE_LABELS.get(kind, "")) for name, kind in types.profile.items()),
        "events": builder.known_events(types),
        "reach": estimated,
        "estimable": targeting.estimable(campaign),
        "asking": targeting.reach_devices(campaign) == "ask",
        "terms": counts.BY_NAME,
        "counted_at": timezone.now() if estimated else None,
        "reach_channels": [
            (channel, label, estimated.reachable.get(channel, 0)) for channel, label in channels_of(form)
        ]
        if estimated
        else [],
        "reach_error": _why_not_counted(errors) if estimate and estimated is None else None,
        "saved_reach": _saved_reach(campaign, form),
        **_segment_list(request, campaign, chosen, channels=_list_channels(campaign, form.channels())),
    }


def _list_channels(campaign, channels):
    # A saved segment's last reach counts people push reaches: not whom a banner can ask.
    return [] if targeting.reach_devices(campaign) == "ask" else channels


def channels_of(form):
    return [(channel, CHANNEL_LABELS[channel]) for channel in form.channels()]


def _estimate(campaign, form):
    """(errors, notes, reach) of the audience as the form holds it now."""
    if not targeting.estimable(campaign):
        return form.rule_errors, {}, None
    rules, errors = form.audience_rules()
    if rules is None:
        return errors, {}, None
    try:
        tree = parse(rules)
    except RuleError as problem:
        return problem.errors, {}, None
    devices = targeting.reach_devices(campaign)
    if form.chosen_audience == SAVED and devices == "reachable":
        # Keep the list's "last reach" fresh while we are counting anyway.
        return {}, {}, refresh_reach(Segment.objects.get(pk=form.chosen_segment_id()))
    notes = {} if form.chosen_audience == SAVED else rule_notes(tree)
    return {}, notes, estimate_reach(tree, devices=devices)


def _why_not_counted(errors):
    if not errors:
        return None
    return errors.get("root") or "Fix the conditions marked in red to see the reach."


def _notes(rules):
    try:
        return rule_notes(parse(rules))
    except RuleError:
        return {}


def _saved_reach(campaign, form):
    """The chosen saved segment's last counted reach, shown before anyone asks for an estimate."""
    if form.chosen_audience != SAVED:
        return None
    return Segment.objects.filter(pk=form.chosen_segment_id(), is_adhoc=False, last_computed_at__isnull=False).first()


def _segment_list(request, campaign, chosen, *, channels):
    query = request.GET.get("q", "").strip()[:200]
    pinned = Segment.objects.filter(pk=chosen, is_adhoc=False).first() if chosen else None
    found = Segment.objects.filter(is_adhoc=False)
    if query:
        found = found.filter(name__icontains=query)
    if pinned:
        found = found.exclude(pk=pinned.pk)
    fields = ("name", "description", "last_reach", "last_reachable", "last_computed_at")
    page = Paginator(found.only(*fields), PER_PAGE).get_page(request.GET.get("page"))

    def row(segment):
        reachable = segment.last_reachable or {}
        return {"segment": segment, "reach": [(CHANNEL_LABELS[c], reachable.get(c)) for c in channels]}

    return {
        "query": query,
        "pinned": row(pinned) if pinned else None,
        "page": page,
        "rows": [row(segment) for segment in page.object_list],
        "reach_column": bool(channels),
        "has_segments": pinned is not None or Segment.objects.filter(is_adhoc=False).exists(),
        "segments_url": reverse("campaigns:who-segments", args=[campaign.pk]),
        "reach_url": reverse("campaigns:who-reach", args=[campaign.pk]),
    }


urlpatterns = [
    path("<int:pk>/who/", step, name="who"),
    path("<int:pk>/who/builder/", builder_edit, name="who-builder"),
    path("<int:pk>/who/reach/", reach, name="who-reach"),
    path("<int:pk>/who/segments/", segments, name="who-segments"),
]
