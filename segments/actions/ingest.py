"""Profiles, events and app devices coming in through the API (and the CSV import).

Each batch is one transaction: it is written whole or not at all.
"""

import json
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from segments.actions.devices import LAST_SEEN_RESOLUTION, hand_over
from segments.actions.properties import new_properties, note_properties
from segments.models import Device, Event, Profile, PropertyDefinition
from segments.schemas import changed_fields
from segments.signals import send_events_recorded

# What a field becomes when a client sends null for it.
_CLEARED = {"name": "", "email": "", "phone": "", "gender": "", "country": "", "region": "", "city": ""}
_CLEARED |= {"timezone": "", "language": "", "email_unsubscribed": False, "sms_unsubscribed": False, "is_test": False}


# The statements every events request makes, written once: Django compiled the same
# SELECT, INSERT and UPDATE again for each request, about a third of a single event's CPU
# (py-spy, bench/sdk.py). Arrays as parameters: one statement text for any batch size.
_PROFILES_SQL = "SELECT identity, id, last_seen_at FROM segments_profile WHERE identity = ANY(%s)"
_EVENTS_SQL = """
    INSERT INTO segments_event (profile_id, name, properties, occurred_at, received_at)
    SELECT profile_id, name, properties::jsonb, occurred_at, %s
    FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[]) AS e(profile_id, name, properties, occurred_at)
    RETURNING id
"""
_SEEN_SQL = "UPDATE segments_profile SET last_seen_at = %s WHERE id = ANY(%s)"
# The events of known people in one statement: their profiles read, the events inserted
# in the order sent, the profiles not seen for a minute marked seen, and nothing written
# unless every identity is known (``every``). Outside a transaction it is one round trip
# and commits on its own; BEGIN, the profile SELECT and COMMIT were three more for a
# single event (bench/sdk.py).
_KNOWN_SQL = """
    WITH e AS (
        SELECT * FROM unnest(
            %(identities)s::text[], %(names)s::text[], %(properties)s::text[], %(occurred)s::timestamptz[]
        ) WITH ORDINALITY AS e(identity, name, properties, occurred_at, n)
    ), p AS (
        SELECT id, identity, last_seen_at FROM segments_profile WHERE identity = ANY(%(distinct)s)
    ), known AS (
        SELECT count(*) = cardinality(%(distinct)s::text[]) AS every FROM p
    ), added AS (
        INSERT INTO segments_event (profile_id, name, properties, occurred_at, received_at)
        SELECT p.id, e.name, e.properties::jsonb, e.occurred_at, %(now)s
        FROM e JOIN p USING (identity) WHERE (SELECT every FROM known) ORDER BY e.n
        RETURNING id
    ), seen AS (
        UPDATE segments_profile SET last_seen_at = %(now)s
        WHERE (SELECT every FROM known)
          AND id IN (SELECT id FROM p WHERE last_seen_at IS NULL OR last_seen_at <= %(stale_before)s)
    )
    SELECT (SELECT every FROM known), ARRAY(SELECT id FROM added ORDER BY id)
"""


def _written():
    """Whether the written statements above apply: arrays and unnest are PostgreSQL's; the
    embedded mode (SQLite) takes the ORM's statements for the same work."""
    return connection.vendor == "postgresql"


def _profiles(identities):
    if not _written():
        known = Profile.objects.filter(identity__in=identities).values_list("identity", "id", "last_seen_at")
        return {identity: (pk, seen) for identity, pk, seen in known}
    with connection.cursor() as cursor:
        cursor.execute(_PROFILES_SQL, [list(identities)])
        return {identity: (pk, seen) for identity, pk, seen in cursor.fetchall()}


def _insert_events(records, profiles, now):
    """The new events' ids, in one statement per batch."""
    if not _written():
        events = Event.objects.bulk_create(
            [
                Event(
                    profile_id=profiles[r.identity][0],
                    name=r.name,
                    properties=r.properties,
                    occurred_at=r.occurred_at or now,
                    received_at=now,
                )
                for r in records
            ],
            batch_size=1000,
        )
        return [event.pk for event in events if event.pk is not None]
    with connection.cursor() as cursor:
        cursor.execute(
            _EVENTS_SQL,
            [
                now,
                [profiles[r.identity][0] for r in records],
                [r.name for r in records],
                [json.dumps(r.properties) for r in records],
                [r.occurred_at or now for r in records],
            ],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _mark_seen(profile_ids, now):
    if not _written():
        Profile.objects.filter(id__in=profile_ids).update(last_seen_at=now)
        return
    with connection.cursor() as cursor:
        cursor.execute(_SEEN_SQL, [now, profile_ids])


def ensure_profiles(identities, *, now):
    """({identity: (profile id, last seen)} for every identity, how many were created),
    creating the unknown ones, seen ``now``."""
    identities = set(identities)
    found = _profiles(identities)
    missing = identities - found.keys()
    if missing:
        # ignore_conflicts: a concurrent request may create the same identity first.
        Profile.objects.bulk_create([Profile(identity=i, last_seen_at=now) for i in missing], ignore_conflicts=True)
        found |= _profiles(missing)
    return found, len(missing)


@transaction.atomic
def upsert_profiles(records):
    """Create or update profiles by identity. Returns (created, updated).

    Records for the same identity apply in order, as if sent one after another."""
    changes = defaultdict(dict)
    for record in records:
        fields = changed_fields(record)
        fields.pop("identity")
        merged = changes[record.identity]
        if "properties" in fields:
            fields["properties"] = {**merged.get("properties", {}), **(fields["properties"] or {})}
        merged.update(fields)

    now = timezone.now()
    # Lock the rows we merge into, so a concurrent batch cannot interleave its merge.
    existing = {p.identity: p for p in Profile.objects.select_for_update().filter(identity__in=changes)}
    rows, touched = [], {"updated_at"}
    for identity, fields in changes.items():
        profile = existing.get(identity) or Profile(identity=identity, created_at=now)
        for name, value in fields.items():
            if name == "properties":
                merged = {**profile.properties, **value}
                value = {k: v for k, v in merged.items() if v is not None}
            elif value is None:
                value = _CLEARED.get(name)
            setattr(profile, name, value)
            touched.add(name)
        profile.updated_at = now
        # Written as one INSERT … ON CONFLICT (identity) DO UPDATE: many times faster
        # than bulk_update's CASE per row, and a profile created meanwhile by another
        # request is updated instead of failing the batch.
        profile.pk = None
        rows.append(profile)
    Profile.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["identity"], update_fields=sorted(touched), batch_size=1000
    )
    note_properties(PropertyDefinition.Scope.PROFILE, (c["properties"] for c in changes.values() if "properties" in c))
    return len(changes) - len(existing), len(existing)


def record_events(records):
    """Store events, creating profiles for unknown identities. Returns (events, new profiles).

    Events of known people whose property names are known too (the common case: a
    single event from a site or app) take one statement (``_KNOWN_SQL``) on
    PostgreSQL; the rest one transaction of several."""
    now = timezone.now()
    if _written() and not any(new_properties(PropertyDefinition.Scope.EVENT, r.properties, r.name) for r in records):
        event_ids = _record_known(records, now)
        if event_ids is not None:
            if event_ids:
                transaction.on_commit(lambda: send_events_recorded(Event, event_ids))
            return len(records), 0
    return _record_events(records, now)


def _record_known(records, now):
    """The new events' ids, or None when an identity has no profile yet (nothing written)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _KNOWN_SQL,
            {
                "identities": [r.identity for r in records],
                "names": [r.name for r in records],
                "properties": [json.dumps(r.properties) for r in records],
                "occurred": [r.occurred_at or now for r in records],
                "distinct": list({r.identity: None for r in records}),
                "now": now,
                "stale_before": now - LAST_SEEN_RESOLUTION,
            },
        )
        every, event_ids = cursor.fetchone()
    return event_ids if every else None


@transaction.atomic
def _record_events(records, now):
    profiles, created = ensure_profiles((r.identity for r in records), now=now)
    event_ids = _insert_events(records, profiles, now)
    if event_ids:
        transaction.on_commit(lambda: send_events_recorded(Event, event_ids))
    # "Last seen" is shown to the minute; rewriting every profile row (and its
    # last_seen_at index entry) for each event would cost more than the events.
    stale = [pk for pk, seen in profiles.values() if seen is None or now - seen >= LAST_SEEN_RESOLUTION]
    if stale:
        _mark_seen(stale, now)
    by_event = defaultdict(list)
    for r in records:
        if r.properties:
            by_event[r.name].append(r.properties)
    for name, items in by_event.items():
        note_properties(PropertyDefinition.Scope.EVENT, items, event_name=name)
    return len(records), created


class InstallConflict(ValueError):
    """``register_device``: the install id is a device of another platform."""


@transaction.atomic
def register_device(data):
    """Register or refresh an app's FCM or APNs token. Returns (device, created).

    A refresh changes only the fields it sends; a new device without a push status
    is Allowed. A token already known for another profile moves to this one (the
    person logged in to another account on the same install), leaving the earlier
    profile a Suspended device."""
    now = timezone.now()
    profile, _ = Profile.objects.get_or_create(identity=data.identity)
    device = Device.objects.select_for_update().filter(platform=data.platform, token=data.token).first()
    if data.install_id and (device is None or device.client_id != data.install_id):
        install = Device.objects.select_for_update().filter(client_id=data.install_id).first()
        if install is not None and install.platform != data.platform:
            # An install does not change platform: this id is another device's (a browser's
            # client id, an app on the other platform). Taking it over would leave that
            # device with a token of this platform's push service.
            raise InstallConflict(f"install_id is already a {install.get_platform_display()} device's.")
        if install is not None and device is not None:
            # The token is one device's and the install another's: the install now has
            # this token, so its own token is stale. The install's device takes the token
            # and the other is retired (two rows cannot share a token or an install id:
            # this was a 500).
            device.token, device.retired_at = "", now
            device.save(update_fields=["token", "retired_at"])
        device = install or device
    created = device is None
    if created:
        device = Device(profile=profile, platform=data.platform)
    elif device.profile_id != profile.id:
        hand_over(device, profile)
    device.token = data.token
    device.client_id = data.install_id or device.client_id
    # A refresh changes what it sends and keeps the rest (issue 12: a refresh
    # without push_status used to un-block the person and blank the app fields).
    sent = changed_fields(data)
    if sent.get("push_status") is not None:
        device.push_status = data.push_status
    elif created:
        device.push_status = Device.PushStatus.ALLOWED
    for name in ("app_version", "make", "model", "os_version", "sdk_version", "categories"):
        if name in sent:
            setattr(device, name, sent[name])
    device.retired_at = None
    device.last_seen_at = now
    device.save()
    Profile.objects.filter(pk=profile.pk).update(last_seen_at=now)
    return device, created


def retire_device(platform, token):
    """Stop sending to a token (the app unregistered it). Returns whether it was known."""
    return bool(
        Device.objects.filter(platform=platform, token=token, retired_at__isnull=True).update(retired_at=timezone.now())
    )


def retire_devices(device_ids):
    """Stop sending to these devices: their push service said the subscription or token is
    gone (404 / 410 / Unregistered). One UPDATE for a whole batch. Returns how many changed."""
    return Device.objects.filter(pk__in=list(device_ids), retired_at__isnull=True).update(retired_at=timezone.now())
