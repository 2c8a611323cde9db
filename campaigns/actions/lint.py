"""The personalisation lint (issue 17, item 2): before Schedule or Publish, every variant is
rendered for a random sample of the campaign's real audience, as a send would render it,
and what the people would see wrong is counted.

- **Who**: up to ``SAMPLE`` people drawn at random from the audience a run would take
  (``campaigns.actions.runs.Audience``: the segment through the rule compiler, with a
  device the channel reaches); a live campaign for everyone, or a pop-up, samples every
  profile (with a reachable device, for push). A live campaign samples those who have done
  its trigger, and its ``event`` is each one's latest trigger event, as the preview's
  (``campaigns.preview.context_for``).
- **How**: the send pipeline's ``Renderer`` (``delivery/actions/sending.py``): the same
  Liquid (``delivery.content.render``), the same context, the same Linked Content fetch
  (one request per URL for the whole sample). Every variant is rendered for every sampled
  person, whatever variant they would get.
- **What is counted**, per variant and field, people not messages:
  an output that renders empty ("Hi ,"), a title or text longer than a surface shows
  (``campaigns.preview`` surfaces, the one definition of those lengths), a push over 4 KB
  (``campaigns.preview.sizes``: Web Push encrypted, FCM and APNs as sent), a Liquid error
  at render time, and a Linked Content fetch that fails.

Each finding keeps three example people and the What step's field that fixes it.
Scheduling with a finding needs "Send anyway" (``campaigns.actions.lifecycle.do_schedule``).

Empty outputs are seen with a second Liquid environment whose output statement notes
the ones that write nothing: python-liquid has no hook for that, and the pipeline's
environment (``delivery.content.env``) stays as it is. Both are python-liquid's defaults,
so they parse and render alike; the text counted for length and size is the pipeline's.
"""

import contextvars
import functools
import random
import re
import time
from dataclasses import dataclass, field

from django.db.models import Exists, Max, Min, OuterRef
from django.urls import reverse
from django.utils import timezone
from liquid import Environment
from liquid.builtin.output import Output, OutputNode
from liquid.exceptions import LiquidError
from liquid.stringify import to_liquid_string
from liquid.token import TOKEN_OUTPUT

from accounts import params
from campaigns import preview, targeting
from campaigns.actions.runs import Audience
from campaigns.models import Campaign
from delivery import content as liquid
from delivery.actions.sending import Renderer
from delivery.linked import LinkedContentError
from segments.models import Event, Profile
from segments.rules import tree as rule_tree
from segments.rules.compiler import profiles as profiles_of

SAMPLE = 1000  # the figure: 1,000 people, or all of them if fewer
EXAMPLES = 3
# Ids drawn per person wanted, then at most this many in one query (``sample_ids``).
CANDIDATES = 3
MAX_CANDIDATES = 30_000


class Kind:
    EMPTY = "empty"
    TRUNCATED = "truncated"
    TOO_BIG = "too_big"
    LIQUID = "liquid"
    LINKED = "linked"


TITLES = {
    Kind.EMPTY: "A personalisation renders empty",
    Kind.TRUNCATED: "Text is cut off",
    Kind.TOO_BIG: "The push is over 4 KB",
    Kind.LIQUID: "Personalisation fails",
    Kind.LINKED: "Linked Content cannot be fetched",
}
FIELD_LABELS = {
    "title": "title",
    "subtitle": "subtitle",
    "body": "text",
    "url": "link",
    "image": "image",
    "icon": "icon",
    "ios_media_url": "iOS media",
    "button_text": "button",
    "click_url": "click link",
    "kv": "key-values",
    "linked": "Linked Content",
    "buttons": "button",
    "carousel": "carousel card",
    "payload": "push",
}


@dataclass(frozen=True)
class Example:
    profile_id: int
    label: str  # identity, else name
    url: str  # the profile page
    shown: str  # what this person would see (plain text: templates escape it)


@dataclass
class Finding:
    kind: str
    variant: str  # "" when the campaign has one message
    field: str  # content path: title, body, buttons.0.title, kv.coupon, linked
    message: str
    fix_url: str
    people: int = 0
    examples: list = field(default_factory=list)
    group: str = ""  # what splits one field's findings: the visible length, the platform, the outputs

    @property
    def title(self):
        return TITLES[self.kind]


@dataclass
class Report:
    sampled: int = 0
    findings: list = field(default_factory=list)
    seconds: float = 0.0

    def __bool__(self):
        return bool(self.findings)

    def summary(self):
        """One line for the audit log: each finding's kind, field and count."""
        return "; ".join(
            f"{f.kind} {f.variant + ' ' if f.variant else ''}{f.field}{f' ({f.group})' if f.group else ''}: {f.people}"
            for f in self.findings
        )


# --- noting outputs that write nothing -------------------------------------------------

_empties = contextvars.ContextVar("lint_empties")
REQUEST_DATA = re.compile(r"data\b")  # {{ data.order_id }}, {{ data["x"] | upcase }}


class _NotedOutputNode(OutputNode):
    def render_to_output(self, context, buffer):
        text = to_liquid_string(self.expression.evaluate(context), context.autoescape)
        if not text.strip():
            _empties.get().append(str(self.expression))
        return buffer.write(text)


class _NotedOutput(Output):
    node_class = _NotedOutputNode


_noting_env = Environment()
_noting_env.tags[TOKEN_OUTPUT] = _NotedOutput(_noting_env)


@functools.lru_cache(maxsize=256)
def _noting_template(text):
    return _noting_env.from_string(text)  # parsed once per text, as the pipeline's are


def empty_outputs(text, context):
    """The output expressions of ``text`` that render nothing (or only spaces) in ``context``."""
    if "{{" not in text:
        return []
    noted = []
    token = _empties.set(noted)
    try:
        _noting_template(text).render(**context)
    except LiquidError:
        return []  # the pipeline's render reports it
    finally:
        _empties.reset(token)
    return noted


# --- the sample ---------------------------------------------------------------------------


def audience(campaign, now):
    """The profiles a send would consider, or None when the campaign has no audience yet.
    A live campaign's are those who have done its trigger already: only such people are
    sent it, and their latest trigger event is the best guess at their ``event``."""
    push = campaign.channel != Campaign.Channel.EXIT_INTENT
    if campaign.segment_id is not None and push:
        found = Audience(campaign, now).profiles
    elif campaign.segment_id is not None:
        found = profiles_of(rule_tree.parse(campaign.segment.rules), now=now)
    elif campaign.is_live or not push:
        found = Profile.objects.all()
        if push:
            found = found.filter(Exists(Audience._devices(campaign).filter(profile=OuterRef("pk"))))
    else:
        return None
    if campaign.is_live and campaign.trigger_event:
        found = found.filter(Exists(Event.objects.filter(profile=OuterRef("pk"), name=campaign.trigger_event)))
    return found


def sample_ids(queryset, size=SAMPLE, *, rng=random):
    """``size`` ids of ``queryset``'s profiles drawn at random (all of them when there are
    fewer). Ids drawn uniformly from the whole profile id range, kept where they are in
    the audience, are a uniform sample of it, and cost one indexed look-up each: what
    ``ORDER BY random()`` costs is the whole audience query (3.5 s for 1,000,000 profiles,
    bench/lint.py). An audience too sparse in the id range for that falls back to it."""
    bounds = Profile.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is not None:
        span = range(bounds["low"], bounds["high"] + 1)
        wanted = CANDIDATES * size
        for _ in range(2):
            candidates = rng.sample(span, min(len(span), wanted))
            hits = list(queryset.filter(pk__in=candidates).values_list("pk", flat=True))
            if len(hits) >= size or len(candidates) == len(span):
                return rng.sample(hits, min(size, len(hits)))
            # Drawn as many again as this hit rate needs, within what one query should list.
            wanted = min(MAX_CANDIDATES, int(size * len(candidates) / max(1, len(hits)) * 1.2))
    return list(queryset.order_by("?").values_list("pk", flat=True)[:size])


def _events(campaign, ids):
    """Each person's latest trigger event properties, for a live campaign's ``event``."""
    if not (campaign.is_live and campaign.trigger_event) or not ids:
        return {}
    latest = {}
    rows = (
        Event.objects.filter(profile_id__in=ids, name=campaign.trigger_event)
        .order_by("profile_id", "-occurred_at")
        .values_list("profile_id", "properties")
    )
    for profile_id, properties in rows:
        latest.setdefault(profile_id, dict(properties or {}))
    return latest


# --- the check ------------------------------------------------------------------------------


def lint(campaign, *, now=None, size=SAMPLE):
    """The Report for ``campaign``: its variants rendered for a random sample of its audience."""
    started = time.perf_counter()
    now = now or timezone.now()
    variants = list(campaign.variants.order_by("position"))
    try:
        people = audience(campaign, now) if variants else None
    except rule_tree.RuleError:
        people = None  # a segment whose rules do not parse qualifies nobody (as a run would say)
    if people is None:
        return Report()
    ids = sample_ids(people, size)
    contents = {str(index): variant.content or {} for index, variant in enumerate(variants)}
    renderer = Renderer(contents, ids)
    labels = dict(Profile.objects.filter(pk__in=ids).values_list("pk", "identity"))
    events = _events(campaign, ids)
    named = len(variants) > 1
    found = {}
    for profile_id in ids:
        extra = {"event": events.get(profile_id, {})}
        for key, variant in zip(contents, variants, strict=True):
            context = _Person(profile_id, labels.get(profile_id, ""), variant.name if named else "", key)
            _check(campaign, renderer, contents[key], context, extra, found)
    findings = sorted(found.values(), key=lambda f: (f.variant, list(TITLES).index(f.kind), f.field))
    return Report(sampled=len(ids), findings=findings, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class _Person:
    profile_id: int
    label: str
    variant: str
    key: str  # the What step's form prefix: v<key>-


def _check(campaign, renderer, content, person, extra, found):
    def note(kind, path, message, shown, group=""):
        finding = found.get((kind, person.variant, path, group))
        if finding is None:
            finding = Finding(kind, person.variant, path, message, fix_url(campaign, person.key, path), group=group)
            found[(kind, person.variant, path, group)] = finding
        finding.people += 1
        if len(finding.examples) < EXAMPLES:
            url = reverse("profile", args=[person.profile_id])
            finding.examples.append(Example(person.profile_id, person.label, url, shown[:200]))

    try:
        rendered = renderer.content(person.profile_id, person.key, extra)
    except liquid.ContentError as error:
        note(Kind.LIQUID, error.field, f"The {_label(error.field)} does not render.", error.message)
        return
    except LinkedContentError as error:
        note(
            Kind.LINKED,
            "linked",
            "Linked Content is fetched at send time; without it the message fails.",
            error.message,
        )
        return
    if renderer.personal[person.key]:
        context = renderer.context(content, person.profile_id, extra)
        for path, text in liquid.fields(content):
            blank = empty_outputs(text, context)
            if campaign.kind == Campaign.Kind.API_TRIGGERED:
                # ``data`` comes with each request (campaigns/api.py): unknown until one arrives.
                blank = [expression for expression in blank if not REQUEST_DATA.match(expression)]
            if blank:
                shown = _get(rendered, path)
                note(Kind.EMPTY, path, f"The {_label(path)} shows nothing for {_braces(blank)}.", shown, _braces(blank))
    if campaign.channel == Campaign.Channel.EXIT_INTENT:
        return
    for path, limit, labels in _limits(campaign, content):
        text = rendered.get(path) or ""
        if len(text) > limit:
            message = f"The {_label(path)} is cut after {limit} characters on {', '.join(labels)}."
            note(Kind.TRUNCATED, path, message, text, f"{limit} characters")
    for size in preview.sizes(rendered, targeting.platforms(campaign)):
        if size.over:
            message = f"{size.label} would be over {size.limit:,} bytes: the push service refuses it."
            note(Kind.TOO_BIG, "payload", message, f"{size.bytes:,} bytes", size.platform)


def _limits(campaign, content):
    """(title or body, visible characters, the surfaces that show that many), shortest
    first: surfaces with the same length make one finding."""
    found = {}
    for surface in _surfaces(campaign, content):
        for path, limit in (("title", surface.title_chars), ("body", surface.body_chars)):
            found.setdefault((path, limit), []).append(surface.label)
    return [(path, limit, labels) for (path, limit), labels in sorted(found.items())]


def _surfaces(campaign, content):
    return preview.surfaces_for(campaign, content)


def fix_url(campaign, key, path):
    """The What step at the field of ``path`` (the form names fields ``v<key>-<name>``;
    list rows from 1: buttons.0.title is ``button1_title``)."""
    parts = path.split(".")
    if parts[0] in ("kv", "linked") and len(parts) < 3:
        name = "kv" if parts[0] == "kv" else "linked1_url"
    elif len(parts) == 3:
        row_prefix = {"buttons": "button"}.get(parts[0], parts[0])
        name = f"{row_prefix}{int(parts[1]) + 1}_{parts[2]}"
    else:
        name = parts[0] if parts[0] in liquid.TEXT_KEYS else ""
    anchor = f"#id_v{key}-{name}" if name else f"#variant-{key}"
    return reverse("campaigns:what", args=[campaign.pk]) + anchor


def _label(path):
    return FIELD_LABELS.get(path.split(".")[0], path)


def _braces(expressions):
    return ", ".join(f"{{{{ {expression} }}}}" for expression in dict.fromkeys(expressions))


def _get(content, path):
    value = content
    for part in path.split("."):
        if isinstance(value, list):
            position = params.index(part)
            value = value[position] if position is not None and position < len(value) else ""
        elif isinstance(value, dict):
            value = value.get(part, "")
    return value if isinstance(value, str) else ""
