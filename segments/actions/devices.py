"""Devices changing hands, and the web SDK's browser devices."""

from datetime import UTC, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models.query import get_related_populators
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from segments.models import Device, Event, Profile
from segments.schemas import ANONYMOUS_PREFIX


class NotVouched(Exception):
    """An identify() without the site's identity hash that would touch a known person."""


def is_anonymous(profile):
    return profile.identity.startswith(ANONYMOUS_PREFIX)


SIGNED_BY_THE_SERVER = "the site's server signs the identity (HMAC-SHA256 with the site's identity secret)."


def needs_hash(identity):
    return NotVouched(
        f"identityHash is needed for a known person: {identity} already has a profile, so this browser "
        f"becomes theirs, or changes it, only when {SIGNED_BY_THE_SERVER}"
    )


def hand_over(device, new_profile):
    """Move ``device`` (locked by the caller) to ``new_profile``.

    The person on this browser or install is now someone else: the push
    subscription follows the new profile, and the earlier profile keeps a Suspended
    device so its history shows why it is no longer reachable (seed 002). An
    anonymous earlier profile is merged into the new one instead: it was the same
    person before they logged in."""
    old = device.profile
    if is_anonymous(old):
        Event.objects.filter(profile=old).update(profile=new_profile)
        device.profile = new_profile
        device.save(update_fields=["profile"])
        if not old.devices.exclude(pk=device.pk).exists():
            old.delete()
        return
    if device.push_status in (Device.PushStatus.ALLOWED, Device.PushStatus.BLOCKED, Device.PushStatus.ASK):
        Device.objects.create(
            profile=old,
            platform=device.platform,
            browser=device.browser,
            push_status=Device.PushStatus.SUSPENDED,
            categories=device.categories,
            app_version=device.app_version,
            make=device.make,
            model=device.model,
            os_version=device.os_version,
            sdk_version=device.sdk_version,
            user_agent=device.user_agent,
            last_seen_at=device.last_seen_at,
        )
    device.profile = new_profile
    device.save(update_fields=["profile"])


# "Last seen" is shown to the minute: a browser's page views within a minute of the
# last one write nothing (a row update per page view would cost more than the read).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class _CompiledFirst:
    """``make(value).first()`` with the SQL Django compiles for it kept from the first call:
    compiling the same SELECT (46 columns, a join, FOR UPDATE) was close to half of a
    subscription's CPU (py-spy, bench/sdk.py). The rows become models through the same
    compiler (its converters and select_related populators), as ModelIterable does. The
    query must take ``value`` as its only parameter, and FOR UPDATE is compiled only
    inside a transaction: callers are atomic."""

    def __init__(self, make):
        self.make = make
        self.compiled = None

    def __call__(self, value):
        if self.compiled is None:
            compiler = self.make(value).order_by("pk")[:1].query.get_compiler("default")
            sql, params = compiler.as_sql()
            if list(params) != [value]:
                return self.make(value).first()
            fields = compiler.klass_info["select_fields"]
            init_list = [column[0].target.attname for column in compiler.select[fields[0] : fields[-1] + 1]]
            populators = get_related_populators(compiler.klass_info, compiler.select, "default")
            self.compiled = (compiler, sql, fields[0], fields[-1] + 1, init_list, populators)
        compiler, sql, start, end, init_list, populators = self.compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [value])
            rows = cursor.fetchall()
        for row in compiler.results_iter([rows]):
            device = Device.from_db("default", init_list, row[start:end])
            for populator in populators:
                populator.populate(row, device)
            return device
        return None


_locked_device = _CompiledFirst(
    lambda client_id: Device.objects.select_for_update().filter(client_id=client_id).select_related("profile")
)


# A new row whose unique key another request may be inserting at the same moment: one
# INSERT … ON CONFLICT DO NOTHING, whose conflict waits for the other's commit as a plain
# INSERT does. Not an INSERT in a savepoint that catches the IntegrityError: SAVEPOINT,
# INSERT, RELEASE are three round trips, and a new browser's identify made two of them.
# The targets name the unique indexes (ON CONFLICT of a partial index repeats its WHERE).
_PROFILE_IDENTITY = "(identity)"
_DEVICE_CLIENT_ID = "(client_id) WHERE NOT (client_id = '')"  # segments_device_client_uniq
_inserts = {}


def _created(row, conflict):
    """Insert ``row`` (a new model instance) unless ``conflict``'s unique key is taken.
    Returns whether it was: the row then has its pk."""
    model = type(row)
    fields = [field for field in model._meta.local_concrete_fields if not field.primary_key]
    if not connection.features.can_return_columns_from_insert:  # SQLite before 3.35
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            return False
        return True
    sql = _inserts.get((model, conflict))
    if sql is None:
        # The model's own table and column names; the values go as parameters.
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        values = ", ".join(["%s"] * len(fields))
        returning = model._meta.pk.column
        sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({values})"  # noqa: S608
        sql = _inserts[model, conflict] = f"{sql} ON CONFLICT {conflict} DO NOTHING RETURNING {returning}"
    values = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    row.pk = inserted[0]
    row._state.adding, row._state.db = False, "default"
    return True


# What identify needs of a person it links a browser to (their id and last visit), read
# with written SQL as a page view's device is: Django compiled the 20-column SELECT per call.
_PROFILE_SQL = "SELECT id, last_seen_at FROM segments_profile WHERE identity = %s"


def _profile_for(identity, **defaults):
    """(the profile of ``identity``, whether it was created): get_or_create's answer without
    its savepoint. A profile found is read in part (id, identity, last seen)."""
    profile = _read_profile(identity)
    if profile is not None:
        return profile, False
    profile = Profile(identity=identity, **defaults)
    if _created(profile, _PROFILE_IDENTITY):
        return profile, True
    profile = _read_profile(identity)  # made meanwhile by another request
    if profile is None:
        raise Profile.DoesNotExist(identity)  # and deleted since
    return profile, False


def _read_profile(identity):
    with connection.cursor() as cursor:
        cursor.execute(_PROFILE_SQL, [identity])
        row = cursor.fetchone()
    if row is None:
        return None
    return _loaded(Profile, {"id": row[0], "identity": identity, "last_seen_at": _aware(row[1])})


@transaction.atomic(savepoint=False)
def browser_device(client_id, *, browser="", user_agent=""):
    """The web device for an SDK client id, created with an anonymous profile the
    first time a browser shows up. Returns it locked for this transaction."""
    device = _locked_device(client_id)
    if device is None:
        profile, _ = _profile_for(f"{ANONYMOUS_PREFIX}{client_id}")
        return _first_seen(client_id, profile, browser, user_agent)
    return _seen(device, browser, user_agent)


def _first_seen(client_id, profile, browser, user_agent):
    """A new browser's device, on ``profile``."""
    device = Device(
        client_id=client_id,
        profile=profile,
        platform=Device.Platform.WEB,
        browser=browser,
        user_agent=user_agent[:500],
        last_seen_at=timezone.now(),
    )
    if _created(device, _DEVICE_CLIENT_ID):
        return device
    # Two first requests from a new browser can race here: the loser's insert waits for
    # the winner's commit, finds the client id taken, and the loser goes on with the
    # winner's row.
    return _seen(_locked_device(client_id), browser, user_agent)


def _stale(device, browser, user_agent):
    """Whether a call from this browser has something to write: a new browser name or
    user agent, or a device or person last seen over a minute ago."""
    user_agent = user_agent[:500]
    changed = (browser and browser != device.browser) or (user_agent and user_agent != device.user_agent)
    return changed or _long_ago(device.last_seen_at) or _long_ago(device.profile.last_seen_at)


def _long_ago(moment):
    return moment is None or timezone.now() - moment >= LAST_SEEN_RESOLUTION


def _seen(device, browser, user_agent):
    user_agent = user_agent[:500]
    changed = (browser and browser != device.browser) or (user_agent and user_agent != device.user_agent)
    if changed or _long_ago(device.last_seen_at):
        device.last_seen_at = timezone.now()
        device.browser = browser or device.browser
        device.user_agent = user_agent or device.user_agent
        device.save(update_fields=["last_seen_at", "browser", "user_agent"])
    return device


def seen_now(profile_id, last_seen_at):
    """Mark a profile seen, unless it was within the last minute."""
    if _long_ago(last_seen_at):
        Profile.objects.filter(pk=profile_id).update(last_seen_at=timezone.now())


# What a page view's identify reads (the SDK answers with the push status): 8 columns
# with the ids, not the device's and profile's 46, whose SQL Django compiled and read on
# every call (~0.5 ms of CPU of 2-3 per request, bench/sdk.py). The statement is written
# once: Django compiling the same SELECT for every page view was a quarter of its CPU
# (py-spy of a gunicorn worker under bench/sdk.py).
_PAGE_VIEW_SQL = """
    SELECT d.id, d.browser, d.user_agent, d.last_seen_at, d.push_status, d.profile_id, p.identity, p.last_seen_at
    FROM segments_device d JOIN segments_profile p ON p.id = d.profile_id
    WHERE d.client_id = %s
"""
_PAGE_VIEW_DEVICE = ["id", "browser", "user_agent", "last_seen_at", "push_status", "profile_id"]


def _page_view_device(client_id):
    """The browser's device with its person's identity and last visit (deferred models,
    as ``.only()`` makes them), or None. client_id is unique (segments_device_client_uniq)."""
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_VIEW_SQL, [client_id])
        row = cursor.fetchone()
    if row is None:
        return None
    row = [_aware(value) if at in (3, 7) else value for at, value in enumerate(row)]
    device = _loaded(Device, dict(zip(_PAGE_VIEW_DEVICE, row[:6], strict=True)))
    device.profile = _loaded(Profile, {"id": row[5], "identity": row[6], "last_seen_at": row[7]})
    return device


def _aware(moment):
    """A last-seen time as the ORM reads it: the embedded mode's SQLite driver gives the
    stored UTC time as text or a naive datetime, PostgreSQL's an aware one."""
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def _loaded(model, values):
    # Model.from_db takes the values in the model's field order.
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db("default", names, [values[name] for name in names])


def identify(client_id, identity, *, vouched, browser="", user_agent=""):
    """The person on this browser is ``identity``: the device moves to that profile
    (created if new). Returns (the device, whether the profile was created).

    ``vouched`` says the site's server signed the identity. Without that, the
    browser's word is all there is and anyone can give it (the site key is
    public), so it may only link an anonymous browser to an identity nobody has
    yet, or repeat the link the browser already has; raises NotVouched otherwise."""
    device = _page_view_device(client_id)
    if device is not None and device.profile.identity == identity and not _stale(device, browser, user_agent):
        # A page view of someone already identified on this browser, the most common
        # call, within a minute of the last: one read, no lock and no transaction. A
        # lock is a write (PostgreSQL marks the row), and its commit waits for the disk.
        return device, False
    if device is None and vouched and connection.vendor == "postgresql":
        made = _first_seen_at_once(client_id, identity, browser, user_agent)
        if made is not None:
            return made
    return _identify(client_id, identity, device is not None, vouched=vouched, browser=browser, user_agent=user_agent)


# A new browser's signed identify() on PostgreSQL: the person read or made and the device
# made in one statement, in autocommit. _identify's way is BEGIN, the person's SELECT and
# INSERT, the device's INSERT and COMMIT, five round trips (bench/sdk.py's first visits).
# The person is read first, as _profile_for does. Nothing comes back when a request
# racing this one holds the person or the browser's client id (the inserts wait for its
# commit and do nothing; the read saw the snapshot before it): _identify then does the
# work again and finds the other's rows, as _profile_for and _first_seen do.
_FIRST_SEEN_SQL = """
    WITH found AS (
        SELECT id, last_seen_at FROM segments_profile WHERE identity = %(identity)s
    ), made AS (
        INSERT INTO segments_profile ({profile_columns}) SELECT {profile_values} WHERE NOT EXISTS (SELECT FROM found)
        ON CONFLICT {profile_conflict} DO NOTHING RETURNING id, last_seen_at
    ), person AS (
        SELECT id, last_seen_at, false AS created FROM found UNION ALL SELECT id, last_seen_at, true FROM made
    ), device AS (
        INSERT INTO segments_device ({device_columns}) SELECT {device_values} FROM person
        ON CONFLICT {device_conflict} DO NOTHING RETURNING id
    )
    SELECT person.id, person.last_seen_at, person.created, device.id FROM person, device
"""
_first_seen_sql = []


class _NewRows:
    """A model's INSERT columns and their parameters, for rows that differ only in a few
    fields: the others' defaults are prepared once per process, not per call (a Profile's
    and a Device's construction and 40 fields' get_db_prep_save were ~0.2 ms of a first
    identify's CPU). auto_now and auto_now_add fields take the call's ``now``."""

    def __init__(self, model, given, skip=()):
        template = model()
        fields = [f for f in model._meta.local_concrete_fields if not f.primary_key and f.column not in skip]
        self.columns = [field.column for field in fields]
        self.given = {field.attname: (at, field) for at, field in enumerate(fields) if field.attname in given}
        self.now = [
            at
            for at, field in enumerate(fields)
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        ]
        self.defaults = [
            None
            if field.attname in given or at in self.now
            else field.get_db_prep_save(field.pre_save(template, True), connection)
            for at, field in enumerate(fields)
        ]

    def values(self, now, **given):
        values = list(self.defaults)
        for at in self.now:
            values[at] = now
        for name, value in given.items():
            at, field = self.given[name]
            values[at] = field.get_db_prep_save(value, connection)
        return values


def _first_seen_at_once(client_id, identity, browser, user_agent):
    """(the new browser's device on ``identity``'s person, whether the person was made),
    or None when a racing request holds either (see _FIRST_SEEN_SQL)."""
    now = timezone.now()
    device = {"client_id": client_id, "platform": Device.Platform.WEB, "browser": browser}
    device |= {"user_agent": user_agent[:500], "last_seen_at": now}
    if not _first_seen_sql:  # prepared on the first call, when the database is known
        quote = connection.ops.quote_name
        profiles = _NewRows(Profile, {"identity", "last_seen_at"})
        devices = _NewRows(
            Device, {"client_id", "platform", "browser", "user_agent", "last_seen_at"}, skip=["profile_id"]
        )
        sql = _FIRST_SEEN_SQL.format(
            profile_columns=", ".join(map(quote, profiles.columns)),
            profile_values=", ".join(["%s"] * len(profiles.columns)),
            profile_conflict=_PROFILE_IDENTITY,
            device_columns=", ".join(map(quote, [*devices.columns, "profile_id"])),
            device_values=", ".join(["%s"] * len(devices.columns) + ["person.id"]),
            device_conflict=_DEVICE_CLIENT_ID,
        )
        _first_seen_sql.append((sql.replace("%(identity)s", "%s"), profiles, devices))
    sql, profiles, devices = _first_seen_sql[0]
    profile_values = profiles.values(now, identity=identity, last_seen_at=now)
    device_values = devices.values(now, **device)
    with connection.cursor() as cursor:
        cursor.execute(sql, [identity, *profile_values, *device_values])
        row = cursor.fetchone()
    if row is None:
        return None
    profile_id, last_seen_at, created, device["id"] = row
    device = _loaded(Device, {**device, "profile_id": profile_id, "push_status": Device.PushStatus.ASK})
    device.profile = _loaded(Profile, {"id": profile_id, "identity": identity, "last_seen_at": last_seen_at})
    if not created:
        seen_now(profile_id, last_seen_at)  # a known person on a new browser
    return device, created


@transaction.atomic
def _identify(client_id, identity, known, *, vouched, browser, user_agent):
    device = _locked_device(client_id) if known else None  # read again, locked, for the writes below
    if device is not None and device.profile.identity == identity:
        _seen(device, browser, user_agent)
        seen_now(device.profile_id, device.profile.last_seen_at)
        return device, False
    if vouched:
        profile, created = _profile_for(identity, last_seen_at=timezone.now())
    else:
        profile, created = _unvouched_profile(device, identity)
    if device is None:
        # A browser whose first call is identify() starts on that person: no
        # anonymous profile to make and merge away.
        device = _first_seen(client_id, profile, browser, user_agent)
    else:
        _seen(device, browser, user_agent)
    if device.profile_id != profile.id:
        hand_over(device, profile)
    if not created:
        seen_now(profile.pk, profile.last_seen_at)
    return device, created


def _unvouched_profile(device, identity):
    if device is not None and not is_anonymous(device.profile):
        # Moving a known person's browser would leave them a Suspended device.
        raise NotVouched(
            f"identityHash is needed for a known person: this browser is {device.profile.identity}'s, "
            f"and it moves to someone else only when {SIGNED_BY_THE_SERVER}"
        )
    # Not _profile_for: two unsigned identify() of one new identity at once both find
    # nothing, and it would hand the loser the winner's profile. The unique index makes
    # the loser wait for the winner's commit and find it taken, so only the first
    # browser links.
    profile = Profile(identity=identity, last_seen_at=timezone.now())
    if not _created(profile, _PROFILE_IDENTITY):
        raise needs_hash(identity)
    return profile, True


# Written once, as the page view's read: Django compiled this UPDATE for every new subscription.
_TAKE_ENDPOINT_SQL = """
    UPDATE segments_device SET endpoint = '', p256dh = '', auth = '', push_status = %s WHERE endpoint = %s AND id <> %s
"""

# save_subscription's work for a browser seen within the minute (a first visit's
# subscription follows its identify()) in one statement on PostgreSQL, in autocommit: the
# ORM path's BEGIN, locked read, takeover UPDATE, device UPDATE and COMMIT were five round
# trips. ``me`` locks the device as the ORM path does and says whether it is fresh (what
# browser_device would write: nothing) and what would change; a device not found or not
# fresh makes no write here and goes the ORM way. ``saved`` counts ``taken``'s rows, which
# runs the takeover to its end before the device takes the endpoint: an unreferenced
# data-modifying CTE runs after the main query, and segments_device_endpoint_uniq would
# refuse the endpoint while another device still held it.
_SUBSCRIBE_SQL = """
    WITH me AS (
        SELECT id, profile_id, browser, user_agent, last_seen_at, categories,
               last_seen_at > %(cutoff)s AND (%(browser)s = '' OR browser = %(browser)s)
                   AND (%(user_agent)s = '' OR user_agent = %(user_agent)s) AS fresh,
               endpoint <> %(endpoint)s AS moved,
               (endpoint, p256dh, auth, push_status) IS DISTINCT FROM (%(endpoint)s, %(p256dh)s, %(auth)s, %(allowed)s)
                   OR retired_at IS NOT NULL
                   OR (%(categories)s IS NOT NULL AND categories IS DISTINCT FROM %(categories)s) AS changed
        FROM segments_device WHERE client_id = %(client_id)s FOR UPDATE
    ), taken AS (
        UPDATE segments_device SET endpoint = '', p256dh = '', auth = '', push_status = %(ask)s
        WHERE endpoint = %(endpoint)s AND id <> (SELECT id FROM me) AND (SELECT fresh AND moved FROM me)
        RETURNING id
    ), saved AS (
        UPDATE segments_device
        SET endpoint = %(endpoint)s, p256dh = %(p256dh)s, auth = %(auth)s, push_status = %(allowed)s,
            retired_at = NULL, categories = COALESCE(%(categories)s, categories)
        WHERE id = (SELECT id FROM me WHERE fresh AND changed) AND (SELECT count(*) FROM taken) >= 0
        RETURNING id
    )
    SELECT id, profile_id, browser, user_agent, last_seen_at, categories, fresh FROM me
"""


def save_subscription(client_id, endpoint, p256dh, auth, *, categories=None, browser="", user_agent=""):
    """Store a browser's push subscription; the device becomes Allowed. Categories
    left as None keep the ones stored before."""
    if connection.vendor == "postgresql":
        device = _subscribed_at_once(client_id, endpoint, p256dh, auth, categories, browser, user_agent[:500])
        if device is not None:
            return device
    return _save_subscription(client_id, endpoint, p256dh, auth, categories, browser, user_agent)


def _subscribed_at_once(client_id, endpoint, p256dh, auth, categories, browser, user_agent):
    """The device with the subscription stored by _SUBSCRIBE_SQL, or None if it was not
    (no device, or one browser_device would write to)."""
    field = Device._meta.get_field("categories")
    wanted = None if categories is None else field.get_db_prep_save(list(categories), connection)
    params = {
        "client_id": client_id,
        "endpoint": endpoint,
        "p256dh": p256dh,
        "auth": auth,
        "categories": wanted,
        "browser": browser,
        "user_agent": user_agent,
        "cutoff": timezone.now() - LAST_SEEN_RESOLUTION,
        "allowed": Device.PushStatus.ALLOWED,
        "ask": Device.PushStatus.ASK,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SUBSCRIBE_SQL, params)
        row = cursor.fetchone()
    if row is None or not row[-1]:
        return None
    pk, profile_id, browser, user_agent, last_seen_at, stored = row[:6]
    values = {"id": pk, "client_id": client_id, "profile_id": profile_id, "browser": browser}
    values |= {"user_agent": user_agent, "last_seen_at": last_seen_at, "retired_at": None}
    values |= {"endpoint": endpoint, "p256dh": p256dh, "auth": auth, "push_status": Device.PushStatus.ALLOWED}
    values["categories"] = list(categories) if categories is not None else field.from_db_value(stored, None, connection)
    return _loaded(Device, values)


@transaction.atomic
def _save_subscription(client_id, endpoint, p256dh, auth, categories, browser, user_agent):
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    wanted = {"endpoint": endpoint, "p256dh": p256dh, "auth": auth, "push_status": Device.PushStatus.ALLOWED}
    wanted["retired_at"] = None
    if categories is not None:
        wanted["categories"] = list(categories)
    changed = [name for name, value in wanted.items() if getattr(device, name) != value]
    if not changed:
        return device  # the SDK sends the subscription again on later visits
    if device.endpoint != endpoint:
        # The same subscription under another client id: the browser's storage was
        # cleared but its push subscription survived. It now belongs to this device.
        # (One device holds an endpoint at a time: each save here takes it from the others.)
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_ENDPOINT_SQL, [Device.PushStatus.ASK, endpoint, device.pk])
    for name in changed:
        setattr(device, name, wanted[name])
    device.save(update_fields=changed)
    return device


@transaction.atomic
def report_push_status(client_id, status, *, browser="", user_agent=""):
    """What the browser says of push permission: ask, blocked or unsupported (and
    allowed, which only sticks once a subscription is stored)."""
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    if status == Device.PushStatus.ALLOWED and not device.endpoint:
        status = Device.PushStatus.ASK
    if status != Device.PushStatus.ALLOWED and device.endpoint:
        # Permission revoked in the browser: the subscription no longer works.
        device.endpoint = device.p256dh = device.auth = ""
    device.push_status = status
    device.save()
    return device
