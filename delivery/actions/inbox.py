"""App Inbox (seed 001, "Optimizing delivery by sending to App Inbox"): a push campaign's
variant with an ``inbox`` section in its content (``delivery/content.py``) also leaves a copy
in the inbox of each person it targets, which their app (``GET /api/v1/profiles/{identity}/
inbox``) or web page (``Clarion.inbox()``) lists, marks read and deletes.

When the copy is made: when its dispatch starts (``do_copy_to_inbox``, from
``dispatches.do_start``), one ``INSERT … SELECT`` over the dispatch's messages, the first
message of each person — the one place every kind of send passes once with its rows
written: a scheduled run, an A/B test's remainder when the winner is known (its rows carry
the winner's variant by then), a live or API-triggered batch. Test sends make none. The
copy is in the inbox at once, whatever becomes of the push (held by DND, dropped by a
frequency cap): reaching people the push does not is the point (the seed's "amplification
via inbox, where the user has chosen to DND the push messages").

Why the text is rendered when the inbox is first listed, not at the run's start: a start
writes up to a million messages in one statement (bench/run.py), and rendering Liquid for
each person in Python there would cost more than the whole start; most copies are never
opened. An item keeps the variables its message had (a live trigger's ``event``, an API
send's ``data``) and is rendered with the person's profile then, as a push is rendered at
its send, with the same renderer (``delivery.content.render_text``), as plain text: whoever
shows it inserts it as text. Linked Content is not fetched for the inbox (a listing must not
wait for other servers), so the What step refuses a copy of a message that uses it.

How long: ``expires_at`` (the section's ``ttl``, 1 hour to 90 days, independent of
MESSAGE_RETENTION_DAYS: an item copies what it needs and never points at a message). Expired
items are no longer listed or readable; the hourly sweep empties their text and deletes them
once their dispatch's messages are pruned, when the dispatch's inbox counts were kept in its
``PrunedInboxTally`` (``delivery.actions.retention``): the counts beside "Amplified" read
the same afterwards, as it does (``do_sweep_expired``).
"""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from liquid.exceptions import LiquidError

from delivery.content import profile_context, render_text
from delivery.counts import ENGAGED
from delivery.models import InboxItem, Message

KEY = "inbox"  # the content section
MIN_TTL = 3600
MAX_TTL = 90 * 24 * 3600
DEFAULT_TTL = 7 * 24 * 3600
MAX_TAGS = 10
TAG_LENGTH = 30
PAGE = 20
MAX_PAGE = 50
MAX_OFFSET = 10_000
SWEEP_BATCH = 5000


def ttl_of(section):
    """The section's TTL in seconds, within the bounds (a content saved by hand may hold anything)."""
    ttl = section.get("ttl")
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        return DEFAULT_TTL
    return max(MIN_TTL, min(MAX_TTL, ttl))


def sections(contents):
    """{variant key: inbox section} of the variants of a dispatch's ``contents`` that copy to the inbox."""
    return {key: content[KEY] for key, content in (contents or {}).items() if isinstance(content.get(KEY), dict)}


def do_copy_to_inbox(dispatch, *, now=None):
    """Put a copy of the dispatch's push in the inbox of each person it has messages for, in
    the variants that ask for one (see the module docstring). Safe to run twice (one item
    per person and dispatch). Returns how many were added."""
    if dispatch.is_test:
        return 0
    wanted = sections(dispatch.contents)
    if not wanted:
        return 0
    now = now or timezone.now()
    variants = list(wanted)
    expiries = [now + timedelta(seconds=ttl_of(wanted[key])) for key in variants]
    table, messages = InboxItem._meta.db_table, Message._meta.db_table
    cases = " ".join("WHEN %s THEN %s" for _ in variants)
    placeholders = ", ".join("%s" for _ in variants)
    # A person's first message in the dispatch (the lowest id) gives the copy its variant and
    # variables: every message of one person has the same. PostgreSQL picks it with DISTINCT
    # ON, one pass over the dispatch's rows (for 500,000 messages: 1.0-1.8 s, where the
    # portable IN (SELECT MIN(id) … GROUP BY) that SQLite uses took 7 s, under a load of 10-13
    # on two cores). Table names are ours; every value is a parameter. ON CONFLICT: a second
    # start of the same dispatch adds nothing (WHERE TRUE: SQLite would read its ON as a join's).
    if connection.vendor == "postgresql":
        first = f"""
            SELECT DISTINCT ON (m.profile_id) m.dispatch_id, m.profile_id, m.variant, m.context
            FROM {messages} m WHERE m.dispatch_id = %s AND m.variant IN ({placeholders})
            ORDER BY m.profile_id, m.id
        """  # noqa: S608
    else:
        first = f"""
            SELECT m.dispatch_id, m.profile_id, m.variant, m.context FROM {messages} m
            WHERE m.id IN (
                SELECT MIN(f.id) FROM {messages} f
                WHERE f.dispatch_id = %s AND f.variant IN ({placeholders}) GROUP BY f.profile_id
            )
        """  # noqa: S608
    sql = f"""
        INSERT INTO {table} (dispatch_id, profile_id, variant, context, created_at, expires_at,
            title, body, url, error, before_push)
        SELECT m.dispatch_id, m.profile_id, m.variant, m.context, %s, CASE m.variant {cases} END,
            '', '', '', '', FALSE
        FROM ({first}) m
        WHERE TRUE
        ON CONFLICT DO NOTHING
    """  # noqa: S608
    # As the ORM stores them (SQLite keeps datetimes as text, compared as text).
    at = connection.ops.adapt_datetimefield_value
    pairs = [value for key, expiry in zip(variants, expiries, strict=True) for value in (key, at(expiry))]
    params = [at(now), *pairs, dispatch.pk, *variants]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- a person's inbox ---------------------------------------------------------------------


def shown(profile, *, now=None):
    """The items a person's inbox lists: not deleted, not expired, rendered without error."""
    now = now or timezone.now()
    return InboxItem.objects.filter(profile=profile, deleted_at__isnull=True, expires_at__gt=now).exclude(error__gt="")


def page_of(profile, *, limit=PAGE, offset=0, now=None):
    """(items of the page, unread, total) of a person's inbox, newest first; the items
    rendered (``render``) and ready for ``as_dict``. An item that cannot be rendered for
    this person is left out from then on, as its push would fail."""
    now = now or timezone.now()
    limit, offset = max(1, min(MAX_PAGE, limit)), max(0, min(MAX_OFFSET, offset))
    items = shown(profile, now=now)
    page = list(items.select_related("dispatch").order_by("-created_at", "-pk")[offset : offset + limit])
    if any(item.rendered_at is None for item in page):
        render(page, profile, now=now)
        page = [item for item in page if not item.error]
        items = shown(profile, now=now)
    total = items.count()
    unread = items.filter(read_at__isnull=True).count()
    return page, unread, total


def render(items, profile, *, now):
    """Render and keep the text of the items not rendered yet (one person's)."""
    person = {"profile": profile_context(profile)}
    for item in items:
        if item.rendered_at is not None:
            continue
        content = (item.dispatch.contents or {}).get(item.variant) or {}
        section = content.get(KEY) or {}
        context = {**(item.context or {}), **person}
        try:
            item.title = render_text(section.get("title") or content.get("title") or "", context)
            item.body = render_text(section.get("body") or content.get("body") or "", context)
            item.url = render_text(content.get("url") or "", context)
        except LiquidError as error:
            item.title = item.body = item.url = ""
            item.error = str(error).split("\n")[0][:300] or type(error).__name__
        item.rendered_at = now
        InboxItem.objects.filter(pk=item.pk, rendered_at__isnull=True).update(
            title=item.title, body=item.body, url=item.url, error=item.error, rendered_at=now
        )


def as_dict(item):
    """An item as the API and the SDK answer with it. Text is plain: show it as text."""
    section = ((item.dispatch.contents or {}).get(item.variant) or {}).get(KEY) or {}
    return {
        "id": item.pk,
        "title": item.title,
        "body": item.body,
        "url": item.url,
        "title_color": section.get("title_color") or "",
        "body_color": section.get("body_color") or "",
        "background_color": section.get("background_color") or "",
        "tags": [tag for tag in section.get("tags") or [] if isinstance(tag, str)][:MAX_TAGS],
        "created_at": item.created_at,
        "expires_at": item.expires_at,
        "read": item.read_at is not None,
        "read_at": item.read_at,
    }


def item_of(profile, item_id, *, now=None):
    """A listed item of this person's, or None (another person's, deleted or expired: alike)."""
    return shown(profile, now=now).select_related("dispatch").filter(pk=item_id).first()


@transaction.atomic
def do_mark_read(profile, item_id, *, now=None):
    """Mark one of the person's items read (opened in the inbox: an inbox view), once.
    Returns the item, or None when they have no such item. The first read also decides
    whether the inbox reached them before the push did (``before_push``)."""
    now = now or timezone.now()
    item = item_of(profile, item_id, now=now)
    if item is None:
        return None
    if item.rendered_at is None:
        render([item], profile, now=now)
        if item.error:
            return None
    # Displayed on one of their devices (rendered, viewed or clicked: ``ENGAGED``) by now? A
    # pruned dispatch's messages are gone: not known, so not counted as the inbox's.
    pushed = (
        Message.objects.filter(dispatch_id=item.dispatch_id, profile_id=item.profile_id)
        .annotate(shown_at=ENGAGED["rendered"])
        .filter(shown_at__lte=now)
    )
    changed = InboxItem.objects.filter(pk=item.pk, read_at__isnull=True).update(
        read_at=now, before_push=item.dispatch.pruned_at is None and not pushed.exists()
    )
    if changed:
        item.read_at = now
    else:
        item.refresh_from_db(fields=["read_at", "before_push"])
    return item


def do_delete(profile, item_id, *, now=None):
    """The person deleted one of their items: it is listed no more. Returns whether they had it."""
    now = now or timezone.now()
    return bool(shown(profile, now=now).filter(pk=item_id).update(deleted_at=now))


def do_sweep_expired(*, now=None, batch=SWEEP_BATCH):
    """The hourly sweep: empty the text of expired items (nobody may read it any more) and
    delete the expired items of dispatches whose messages were pruned (their counts were
    kept then, in ``PrunedInboxTally``: ``delivery.counts.inbox`` reads the same). ``batch``
    rows per statement. Returns (emptied, deleted)."""
    now = now or timezone.now()
    expired = InboxItem.objects.filter(expires_at__lte=now)
    emptied = deleted = 0
    while ids := list(expired.exclude(title="", body="", url="").values_list("pk", flat=True)[:batch]):
        emptied += InboxItem.objects.filter(pk__in=ids).update(title="", body="", url="")
    gone = expired.filter(dispatch__pruned_at__isnull=False)
    while ids := list(gone.values_list("pk", flat=True)[:batch]):
        deleted += InboxItem.objects.filter(pk__in=ids).delete()[0]
    return emptied, deleted
