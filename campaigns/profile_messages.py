"""The messages one person was sent, for their profile page (config/profile_page.py)."""

from delivery.models import Message

LATEST = 50
# What points at a message's dispatch from here: a run, a run's A/B remainder, a test send.
SOURCES = ("run", "remainder_of_run", "test_send")


def received_by(profile, limit=LATEST):
    """The latest ``limit`` messages for ``profile``, newest first: [{campaign (None when
    its campaign is gone), label, is_test, at, status, code, viewed_at, clicked_at}].

    A message knows its dispatch only; the campaign is found through the run, the A/B
    remainder or the test send that points at that dispatch (delivery never imports
    campaigns), in the same query."""
    messages = (
        Message.objects.filter(profile=profile)
        .select_related(*(f"dispatch__{source}__campaign" for source in SOURCES))
        .order_by("-created_at", "-pk")[:limit]
    )
    return [_row(message) for message in messages]


def _row(message):
    dispatch = message.dispatch
    source = next((getattr(dispatch, name) for name in SOURCES if hasattr(dispatch, name)), None)
    return {
        "campaign": source.campaign if source else None,
        "label": dispatch.label,
        "is_test": dispatch.is_test,
        "at": message.sent_at or message.created_at,
        "status": message.get_status_display(),
        "code": message.code,
        "viewed_at": message.viewed_at,
        "clicked_at": message.clicked_at,
    }
