"""The segment pages: the list of saved segments, and the builder that makes and
changes one (segments/forms/builder.py turns its fields into rules and back)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from accounts import audit, roles
from accounts.access import requires
from segments import counts
from segments.actions.reach import (
    estimate_reach,
    rule_notes,
    suggest_categories,
    suggest_column,
    suggest_places,
    suggest_values,
)
from segments.actions.segments import SegmentInUse, delete_segment, save_segment, used_by
from segments.forms import builder, builder_display
from segments.models import Segment
from segments.rules import RuleError, parse
from segments.rules import tree as t

PER_PAGE = 50
# What a suggestion box may send: enough for any name or value worth suggesting.
MAX_TYPED = 100


@requires(roles.MANAGE_SEGMENTS)
def segment_list(request):
    query = request.GET.get("q", "").strip()[:200]
    segments = Segment.objects.filter(is_adhoc=False).select_related("owner")
    if query:
        segments = segments.filter(name__icontains=query)
    page = Paginator(segments, PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "query": query}
    if not page.object_list and not query:
        context["no_segments"] = not Segment.objects.filter(is_adhoc=False).exists()
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "segments/list.html#results", context)
    return render(request, "segments/list.html", context)


@requires(roles.MANAGE_SEGMENTS)
def segment_new(request):
    return _builder_page(request, None)


@requires(roles.MANAGE_SEGMENTS)
def segment_page(request, pk):
    return _builder_page(request, get_object_or_404(Segment, pk=pk, is_adhoc=False))


def _builder_page(request, segment):
    """GET shows the segment; each POST is one edit of the builder (its "action":
    a button pressed, "apply" for any other change), "estimate" (the count that
    static/js/reach.js asks for after every edit) or "save". htmx gets back only what
    changed; without JavaScript the page reloads."""
    types = builder.Types.load()
    post_url = reverse("segments:segment", args=[segment.pk]) if segment else reverse("segments:new")
    if request.method != "POST":
        action = "show"
        edit = builder.Edit(segment.rules if segment else builder.EMPTY_RULES)
        initial = {"name": segment.name, "description": segment.description} if segment else {}
        details = builder.SegmentForm(initial=initial)
    else:
        action = request.POST.get("action", "apply")
        find_place = builder.find_place_with(suggest_places)
        edit = builder.read_form(request.POST, types=types, action=action, find_place=find_place)
        details = builder.SegmentForm(request.POST)

    if action == "save" and details.is_valid() and not edit.errors:
        try:
            segment = save_segment(
                segment=segment, owner=request.user, user=request.user, rules=edit.rules, **details.cleaned_data
            )
        except RuleError as problem:
            edit.errors = {**problem.errors, **edit.errors}
        else:
            messages.success(request, f"Saved “{segment.name}”.")
            target = reverse("segments:segment", args=[segment.pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)

    # An htmx redraw leaves the reach panel as it is (hx-preserve) and reach.js counts
    # once it is drawn: counting here too would count every edit twice.
    redraw = request.htmx and action not in ("show", "estimate")
    errors, notes, reach = _check(edit, count=not redraw)
    root = builder_display.display(edit.rules, types=types, errors=errors, notes=notes, focus=edit.focus)
    context = {
        "segment": segment,
        "details": details,
        "post_url": post_url,
        "root": root,
        "nodes": list(builder_display.walk(root)),
        "reach": reach,
        "terms": counts.BY_NAME,
        "counted_at": timezone.now() if reach else None,
        "has_errors": bool(errors),
        "has_live": any(node.get("kind") == "live_event" for node in builder_display.walk(root)),
        "properties": sorted((name, builder.TYPE_LABELS.get(kind, "")) for name, kind in types.profile.items()),
        "events": builder.known_events(types),
        "choices": builder.CHOICES,
    }
    # A refused save answers 422, which base.html's htmx-config swaps in like a page.
    status = 422 if action == "save" else 200
    if request.htmx and action == "estimate":
        return render(request, "segments/segment.html#estimate", context, status=status)
    if request.htmx and not request.htmx.history_restore_request and action != "show":
        return render(request, "segments/segment.html#form", context, status=status)
    if segment:
        context.update(_history(request, segment))
    return render(request, "segments/segment.html", context, status=status)


def _check(edit, *, count=True):
    """(errors, notes, reach) of the edited rules: reach only when they are valid (and ``count``)."""
    try:
        tree = parse(edit.rules)
    except RuleError as problem:
        # The builder's own messages ("… is a number") say more than the parser's.
        return {**problem.errors, **edit.errors}, {}, None
    if edit.errors:
        return edit.errors, {}, None
    return {}, rule_notes(tree), estimate_reach(tree) if count else None


def _history(request, segment):
    """What the whole segment page shows below the builder (htmx swaps only the builder):
    the campaigns that use the segment, and its audit history."""
    can_read = request.user.has_perm(roles.VIEW_AUDIT)
    return {"used_by": used_by(segment), "history": audit.history(segment) if can_read else None}


@requires(roles.MANAGE_SEGMENTS)
def segment_delete(request, pk):
    """Confirm, then delete. A segment a campaign uses stays: the page names the campaigns
    (409 when the delete was asked for), so the marketer can change them first."""
    segment = get_object_or_404(Segment, pk=pk, is_adhoc=False)
    if request.method == "POST":
        try:
            delete_segment(segment, user=request.user)
        except SegmentInUse as refusal:
            return render(
                request,
                "segments/delete.html",
                {"segment": segment, "used_by": refusal.users, "refused": True},
                status=409,
            )
        messages.success(request, f"Deleted “{segment.name}”.")
        return redirect("segments:list")
    return render(request, "segments/delete.html", {"segment": segment, "used_by": used_by(segment)})


@requires(roles.MANAGE_SEGMENTS)
def suggest(request):
    """Suggestions for one builder field, as <option>s for its datalist (or, for
    places, buttons that add one). The field arrives as ``<its name>=<its text>``
    with ``field_prefix`` (its condition's prefix) to find it by; the rest says
    what to suggest."""
    params = request.GET
    field_prefix = params.get("field_prefix", "")
    field_name = next((key for key in params if field_prefix and key.startswith(field_prefix)), "")
    typed = params.get(field_name, "")[:MAX_TYPED]
    what = params.get("what")
    if what == "places":
        places = suggest_places(typed.split(",")[0].strip()) if typed.strip() else []
        context = {
            "prefix": field_prefix.removesuffix("."),
            "places": [{"label": builder.place_label(place), **place} for place in places],
        }
        return render(request, "segments/_places.html", context)
    # In a list ("Gold, Sil") suggest for the last item, and offer the whole list back.
    before, comma, last = typed.rpartition(",") if field_name.endswith(".values") else ("", "", typed)
    prefix = last.strip()
    if what == "values" and params.get("name"):
        found = suggest_values(params["name"], event=params.get("event") or None, prefix=prefix)
    elif what == "column" and params.get("field") in (*t.GEO_FIELDS, *t.APP_FIELDS, *builder.SUGGESTED_FIELDS):
        found = suggest_column(params["field"], prefix=prefix)
    elif what == "categories":
        found = suggest_categories(prefix)
    elif what in ("values", "column"):
        found = []
    else:
        return HttpResponseBadRequest("Unknown suggestion")
    lead = f"{before.strip()}, " if comma else ""
    return render(request, "segments/_options.html", {"options": [lead + str(value) for value in found]})
