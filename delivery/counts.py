"""What became of a dispatch's messages, in the words every page uses (``campaigns/counts.py``
defines them for people): targeted, sent, failed, not sent on purpose (by reason), waiting.

One GROUP BY over the messages (the ``(dispatch, status)`` index), so a page reads the same
numbers the workers just wrote, whichever page it is. A dispatch whose messages were pruned
(``Dispatch.pruned_at``, MESSAGE_RETENTION_DAYS) is counted from the tally kept when they were
(``PrunedTally``), in the same query: its numbers read the same afterwards.
"""

from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from delivery.models import InboxItem, Message, PrunedInboxTally, PrunedTally
from segments.counts import Term

# What becomes of messages, in words (the whole vocabulary: campaigns.counts.TERMS).
TERMS = (
    Term(
        "targeted",
        "Targeted",
        "Messages created for the people chosen to receive the campaign: one per reachable "
        "device. Each ends sent, failed or not sent on purpose, or is still waiting.",
    ),
    Term(
        "sent",
        "Sent",
        "Messages handed to the push service (Web Push, FCM or APNs) and accepted by it.",
    ),
    Term(
        "rendered",
        "Rendered",
        "Impressions: messages the device reported as displayed. An app reports it when its "
        "notification is shown (POST /api/v1/engagement, kind “rendered”); the web service worker "
        "reports a view when it shows one, which counts here too, as does any view or click. Push "
        "services report no delivery, so this is the nearest to “delivered” Clarion can know.",
    ),
    Term(
        "viewed",
        "Viewed",
        "Messages the device reported as seen: the service worker when it displays the "
        "notification, an app when the person opens or looks at it (kind “viewed”), the web SDK "
        "when a Web Exit Intent pop-up is shown on the page (each pop-up given is counted sent). "
        "A click counts as a view.",
    ),
    Term(
        "clicked",
        "Clicked",
        "Messages whose notification or link was clicked, or whose pop-up's button was (counted once per message).",
    ),
    Term(
        "closed",
        "Closed",
        "Web Exit Intent pop-ups the visitor dismissed (the close button, Escape or outside the "
        "pop-up), reported once per pop-up by the web SDK. A closed pop-up was viewed (shown).",
    ),
    Term(
        "amplified",
        "Amplified",
        "Messages sent once more by push amplification (Settings → Delivery): a web or mobile "
        "push accepted but not reported displayed (rendered, viewed or clicked) within an hour, "
        "resent with the same collapse key so the device shows one notification.",
    ),
    Term(
        "inbox_copies",
        "Inbox copies",
        "People given a copy of the push in their App Inbox (the What step's “Send a copy to App "
        "Inbox”): one per person, whatever became of the push, listed until its TTL ends.",
    ),
    Term(
        "inbox_views",
        "Inbox views",
        "Inbox copies the person opened in their App Inbox (the app or web page marked them read).",
    ),
    Term(
        "inbox_boost",
        "Inbox boost",
        "Inbox copies opened before any of the person's devices reported the push displayed "
        "(rendered, viewed or clicked): people the inbox reached first. The percentage is of the "
        "messages sent once more through App Inbox and push amplification together (inbox copies "
        "+ amplified), as seed 001 puts it.",
    ),
    Term(
        "failed",
        "Failed",
        "Messages that could not be sent for a technical reason: the push service refused them or"
        " kept failing, or the message could not be built. The Errors tab gives each reason.",
    ),
    Term(
        "not_sent",
        "Not sent on purpose",
        "Messages Clarion decided not to send: the person's frequency cap, DND hours set to "
        "discard, the cut-off time, a Safari device excluded, the campaign stopped. A run stopped"
        " by its safety check creates no messages at all; its row says so.",
    ),
    Term(
        "waiting",
        "Waiting",
        "Messages created but not sent yet: queued, being sent, or held until a time (the "
        "throttle, DND hours, the person's time zone, a retry).",
    ),
)

# When a message was rendered, viewed, clicked (None: not reported), as the roll-up counts them
# (``stats.actions.rollup``). A view or click implies the push was displayed: tracking sets all
# of them so, and a message viewed before ``rendered_at`` existed counts as rendered too.
ENGAGED = {
    "rendered": Coalesce("rendered_at", "viewed_at", "clicked_at"),
    "viewed": F("viewed_at"),
    "clicked": F("clicked_at"),
}

S = Message.Status
WAITING = (S.QUEUED, S.SENDING, S.HELD)


@dataclass
class Outcomes:
    """Messages of one dispatch (or several, added up). ``not_sent`` and ``failed_codes`` are
    {code: messages}; ``held`` is the part of ``waiting`` held until a time."""

    targeted: int = 0
    sent: int = 0
    failed: int = 0
    not_sent: int = 0
    waiting: int = 0
    held: int = 0
    not_sent_codes: dict = field(default_factory=dict)
    failed_codes: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=lambda: dict.fromkeys(S.values, 0))  # {message status: n}

    def add(self, status, code, n):
        self.targeted += n
        self.statuses[status] = self.statuses.get(status, 0) + n
        if status == S.SENT:
            self.sent += n
        elif status == S.FAILED:
            self.failed += n
            self.failed_codes[code] = self.failed_codes.get(code, 0) + n
        elif status == S.DROPPED:
            self.not_sent += n
            self.not_sent_codes[code] = self.not_sent_codes.get(code, 0) + n
        elif status in WAITING:
            self.waiting += n
            self.held += n if status == S.HELD else 0

    def __add__(self, other):
        total = Outcomes()
        for part in (self, other):
            for name in ("targeted", "sent", "failed", "not_sent", "waiting", "held"):
                setattr(total, name, getattr(total, name) + getattr(part, name))
            for name in ("not_sent_codes", "failed_codes", "statuses"):
                merged = getattr(total, name)
                for code, n in getattr(part, name).items():
                    merged[code] = merged.get(code, 0) + n
        return total


def tally(where, key="dispatch"):
    """{key value: Outcomes} of the messages of the dispatches ``where`` selects (a Q over
    ``dispatch``, e.g. ``Q(dispatch__in=ids)``), grouped by ``key`` (a field name or an
    expression over ``dispatch``; campaigns groups by campaign). One query: the messages of
    dispatches not pruned, and the kept tallies of those that were."""
    found = {}
    for group, status, code, n in kept_union(where, (key, "status", "code"), n=(Count("pk"), Sum("messages"))):
        found.setdefault(group, Outcomes()).add(status, code, n)
    return found


def kept_union(where, keys, filters=None, **counts):
    """Rows of ``keys`` + ``counts`` over the messages of the dispatches ``where`` selects, the
    pruned ones' from their ``PrunedTally`` (UNION ALL: one query; a group may come twice, once
    from each side, so callers add). Each count is a pair: (over messages, over tallies)."""
    messages = Message.objects.filter(where, dispatch__pruned_at__isnull=True, **(filters or {}))
    kept = PrunedTally.objects.filter(where, **(filters or {}))
    return (
        messages.values_list(*keys)
        .annotate(**{name: pair[0] for name, pair in counts.items()})
        .order_by()
        .union(
            kept.values_list(*keys).annotate(**{name: pair[1] for name, pair in counts.items()}).order_by(), all=True
        )
    )


def of_dispatches(dispatch_ids):
    """{dispatch id: Outcomes} for each id (zeros for one without messages)."""
    ids = {pk for pk in dispatch_ids if pk}
    found = tally(Q(dispatch__in=ids)) if ids else {}
    return {pk: found.get(pk, Outcomes()) for pk in ids}


def amplified(where):
    """How many messages of the dispatches ``where`` selects (a Q over ``dispatch``, as in
    ``tally``) push amplification sent once more: ``amplified_at``, set when
    ``delivery.actions.amplification`` claims one, web and mobile alike; a pruned dispatch's
    from its ``PrunedTally``."""
    return _kept_sum(where, "amplified_at", "amplified")


def closed(where):
    """How many Web Exit Intent pop-ups of the dispatches ``where`` selects (a Q over
    ``dispatch``, as in ``tally``) the visitor dismissed: ``closed_at``, reported once by the
    web SDK (``stats/popups.py``); a pruned dispatch's from its ``PrunedTally``."""
    return _kept_sum(where, "closed_at", "closed")


def _kept_sum(where, stamp, kept):
    """Messages with ``stamp`` set, over the dispatches ``where`` selects: one query, as ``tally``."""
    rows = kept_union(where, ("dispatch",), n=(Count(stamp), Sum(kept)))
    return sum(n or 0 for _, n in rows)


@dataclass
class Inbox:
    """App Inbox copies of the dispatches counted (terms ``inbox_copies``, ``inbox_views``,
    ``inbox_boost``); ``boost_percent`` needs the same dispatches' ``amplified``."""

    copies: int = 0
    views: int = 0
    boosted: int = 0

    def boost_percent(self, amplified):
        """Boosted / (inbox copies + amplified) * 100; None when neither sent anything."""
        whole = self.copies + amplified
        return None if not whole else self.boosted * 100 / whole


def inbox(where):
    """``Inbox`` counts of the dispatches ``where`` selects (a Q over ``dispatch``, as in
    ``tally``), expired and deleted items included; a pruned dispatch's from the
    ``PrunedInboxTally`` kept when its messages were (the sweep deletes its items once they
    expire), so the counts read the same afterwards, as the amplified count beside them does."""
    found = InboxItem.objects.filter(where, dispatch__pruned_at__isnull=True).aggregate(
        copies=Count("pk"),
        views=Count("pk", filter=Q(read_at__isnull=False)),
        boosted=Count("pk", filter=Q(read_at__isnull=False, before_push=True)),
    )
    kept = PrunedInboxTally.objects.filter(where).aggregate(
        copies=Sum("copies"), views=Sum("views"), boosted=Sum("boosted")
    )
    return Inbox(**{name: (found[name] or 0) + (kept[name] or 0) for name in found})
