"""What the web SDK and its service worker report, on the browser's device."""

from django.db import transaction

from segments.actions.devices import browser_device, identify, needs_hash
from segments.actions.ingest import record_events, upsert_profiles
from segments.models import Profile
from segments.schemas import EventIn, ProfileIn, changed_fields

# What a push's device reports, by kind: an app may send these events itself (with a
# ``message_id`` property) or call ``POST /api/v1/engagement`` (stats.api); the web
# service worker reports views and clicks (``record_engagement``).
ENGAGEMENT_EVENTS = {
    "rendered": "Notification Rendered",
    "viewed": "Notification Viewed",
    "clicked": "Notification Clicked",
}


def identify_browser(client_id, identity, profile_fields=None, *, vouched, browser="", user_agent=""):
    """identify() from the SDK: the browser's device moves to ``identity``, whose
    profile takes the fields sent with it. Returns the device.

    ``vouched``: the site's server signed the identity. Unsigned, it may only
    create a person (devices.identify says when), so fields for a profile that
    already existed raise NotVouched and nothing is written."""
    if profile_fields is None:
        # devices.identify makes its own transaction when it writes; a page view of a
        # known browser writes nothing and needs none.
        return identify(client_id, identity, vouched=vouched, browser=browser, user_agent=user_agent)[0]
    return _identify_with_fields(client_id, identity, profile_fields, vouched, browser, user_agent)


@transaction.atomic
def _identify_with_fields(client_id, identity, profile_fields, vouched, browser, user_agent):
    device, created = identify(client_id, identity, vouched=vouched, browser=browser, user_agent=user_agent)
    fields = {k: v for k, v in changed_fields(profile_fields).items() if k != "identity"}
    if fields and not (vouched or created):
        raise needs_hash(identity)
    if fields:
        upsert_profiles([ProfileIn(identity=identity, **fields)])
    return device


@transaction.atomic
def track(client_id, name, properties, *, browser="", user_agent=""):
    """An event from the SDK, on the profile of the browser's device (an anonymous
    one until identify(); its events move with the device then)."""
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    record_events([_event(device.profile.identity, name, properties)])
    return device


@transaction.atomic
def record_engagement(client_id, message_id, kind, *, action="", browser="", user_agent=""):
    """A notification viewed or clicked, as its service worker reports it. Returns
    whether it was recorded: a report for a message, kind and profile that is
    already recorded is not, so each counts once however often it arrives (the
    service worker retries, and a resent message is shown again)."""
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    # Locking the profile serialises reports for it, so two at once cannot both
    # find nothing and both record.
    profile = Profile.objects.select_for_update().get(pk=device.profile_id)
    name = ENGAGEMENT_EVENTS[kind]
    if profile.events.filter(name=name, properties__message_id=message_id).exists():
        return False
    properties = {"message_id": message_id}
    if action:
        properties["action"] = action
    record_events([_event(profile.identity, name, properties)])
    return True


def _event(identity, name, properties):
    # The SDK's own schemas checked name and properties; the identity is ours (an
    # anonymous browser's "anon:…" is refused from clients, not from here).
    return EventIn.model_construct(identity=identity, name=name, properties=properties, occurred_at=None)
