"""Rendering a dispatch's contents for a batch of messages (``delivery/actions/sending.py``;
the personalisation lint, ``campaigns/actions/lint.py``, renders with it too)."""

import json
import re
from types import SimpleNamespace

from liquid.exceptions import LiquidError

from delivery import content as liquid
from delivery.linked import LinkedContent, LinkedContentError
from segments.models import Profile


def read_profiles(profile_ids):
    """{id: profile} of what personal content reads of these people (ids, or a query of
    them): plain values, not model instances (profile_context reads attributes only)."""
    fields = ("id", "properties", *liquid.PROFILE_FIELDS)
    found = Profile.objects.filter(pk__in=profile_ids).values(*fields)
    return {row["id"]: SimpleNamespace(**row) for row in found}


def is_personal(contents):
    """Whether any of a dispatch's ``contents`` reads its people (Liquid or Linked Content)."""
    return any(_is_personal(value) for value in (contents or {}).values())


class Renderer:
    """Rendered content per (profile, variant, message context). Content without Liquid or
    Linked Content is rendered once per variant; templates are parsed once per batch, not
    once per profile. A message's own context (``Message.context``, e.g. a live campaign's
    trigger event) is part of the cache key, so one message's event never shows in another's."""

    def __init__(self, contents, profile_ids, *, profiles=None):
        """``profiles``: what ``read_profiles`` gave for these people (a batch claimed ahead
        reads them on the claim thread), else they are read here when the contents are
        personal."""
        self.contents = contents or {}
        self.personal = {key: _is_personal(value) for key, value in self.contents.items()}
        # Per variant, the profile fields its Liquid reads, when that is all it reads of the
        # profile (``profile_fields_read``): people alike in those fields share one render.
        self.reads = {key: profile_fields_read(value) for key, value in self.contents.items()}
        self.rendered = {}
        self.renders = 0  # Liquid renders made (tests)
        self.profiles = {}
        self.linked = None
        if any(self.personal.values()) and profile_ids:
            self.profiles = read_profiles(profile_ids) if profiles is None else profiles

    def content(self, profile_id, variant, context=None):
        key = variant if variant in self.contents else next(iter(self.contents), None)
        if key is None or (variant and variant not in self.contents and len(self.contents) > 1):
            raise liquid.ContentError("variant", f"the dispatch has no content for variant {variant!r}")
        if self.personal[key]:
            extra = json.dumps(context, sort_keys=True, default=str) if context else ""
            cache_key = (self._alike(profile_id, key), key, extra)
        else:
            cache_key = (None, key, "")
        if cache_key not in self.rendered:
            self.renders += 1
            try:
                content = self.contents[key]
                self.rendered[cache_key] = (
                    self._render(content, profile_id, context) if self.personal[key] else liquid.render(content, {})
                )
            except (liquid.ContentError, LinkedContentError) as error:
                self.rendered[cache_key] = error
        found = self.rendered[cache_key]
        if isinstance(found, Exception):
            raise found
        return found

    def _alike(self, profile_id, key):
        """What a render of variant ``key`` for this profile depends on: the values of the
        fields its Liquid reads, when that is known, else the profile itself."""
        names = self.reads[key]
        profile = self.profiles.get(profile_id)
        if names is None or profile is None:
            return ("profile", profile_id)
        found = liquid.profile_context(profile)
        # Whether each field is there, and its value: a missing field is unlike any value.
        return ("values", _alike_key([[name in found, found.get(name)] for name in names]))

    def _render(self, content, profile_id, extra=None):
        return liquid.render(content, self.context(content, profile_id, extra))

    def context(self, content, profile_id, extra=None):
        """The Liquid context of personal ``content`` for one profile (the personalisation
        lint, ``campaigns/actions/lint.py``, renders with it too). Raises LinkedContentError."""
        # The message's own variables first: ``profile`` and ``linked`` are always ours.
        context = {**(extra or {}), "profile": liquid.profile_context(self.profiles[profile_id])}
        if content.get("linked"):
            context["linked"] = self._linked(content["linked"], context)
        return context

    def _linked(self, sources, context):
        if self.linked is None:
            self.linked = LinkedContent()  # one per batch: it caches each URL's answer
        found = {}
        for source in sources:
            try:
                url = liquid.render_text(source["url"], context)
            except LiquidError as error:
                raise liquid.ContentError("linked.url", str(error).split("\n")[0]) from error
            found[source["name"]] = self.linked.get(url)
        return found


# json.dumps(…, default=str) without a new encoder per call (once per message in a batch).
_alike_key = json.JSONEncoder(default=str).encode

PROFILE_READ = re.compile(r"profile\.([A-Za-z_][A-Za-z0-9_]*)(?=[\s}|.,)%\[=<>!]|$)")


def profile_fields_read(content):
    """The names of ``profile``'s fields the Liquid of ``content`` reads (sorted), when every
    mention of ``profile`` in its texts is ``profile.<name>`` followed by what ends a name in
    Liquid; else None (the profile is read some other way: a loop over it, ``profile[…]``,
    a filter of the whole of it, an assign, Linked Content, or just the word in the text).
    A render then depends on those fields' values alone (and the message's own context, part
    of the cache key anyway): in bench/send.py Liquid per profile was a tenth of the sending
    process's CPU for a title that reads only the first name."""
    if content.get("linked"):
        return None
    names = set()
    for _, text in liquid.fields(content):
        at = text.find("profile")
        while at >= 0:
            found = PROFILE_READ.match(text, at)
            if found is None:
                return None
            names.add(found.group(1))
            at = text.find("profile", found.end())
    return sorted(names)


def _is_personal(content):
    text = json.dumps(content)
    return "{{" in text or "{%" in text or bool(content.get("linked"))
