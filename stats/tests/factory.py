"""Builds what stats tests need: a campaign with a run, its dispatch and messages."""

from datetime import UTC, datetime, timedelta
from itertools import count

from campaigns.models import Campaign, CampaignRun, ControlMember, Variant
from delivery.models import Dispatch, Message
from segments.models import Device, Event, Profile

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
_numbers = count(1)


def profile(**fields):
    return Profile.objects.create(identity=f"person-{next(_numbers)}", **fields)


def device(person, platform=Device.Platform.WEB):
    number = next(_numbers)
    return Device.objects.create(
        profile=person,
        platform=platform,
        client_id=f"client-{number}",
        endpoint=f"https://push.example.com/{number}" if platform == Device.Platform.WEB else "",
        token="" if platform == Device.Platform.WEB else f"token-{number}",
        push_status=Device.PushStatus.ALLOWED,
    )


def campaign(name="Spring sale", *, variants=("A",), started=T0, **fields):
    """A completed one-time campaign whose run started at ``started``, with no messages yet."""
    fields.setdefault("status", Campaign.Status.COMPLETED)
    found = Campaign.objects.create(name=name, channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, **fields)
    for position, key in enumerate(variants):
        Variant.objects.create(campaign=found, position=position, name=key, content={"title": key, "body": key})
    return found


def run(of, *, started=T0, qualified=None, **fields):
    dispatch = Dispatch.objects.create(
        channel=Dispatch.Channel.WEB_PUSH,
        label=f"{of.name} at {started:%Y-%m-%d %H:%M}",
        contents={variant.name: variant.content for variant in of.variants.all()},
        status=Dispatch.Status.DONE,
        started_at=started,
        finished_at=started + timedelta(minutes=5),
    )
    return CampaignRun.objects.create(
        campaign=of,
        planned_at=started,
        status=CampaignRun.Status.COMPLETED,
        dispatch=dispatch,
        qualified=qualified,
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        **fields,
    )


def message(of_run, *, person=None, variant="A", status=Message.Status.SENT, sent_at=T0, code="", **fields):
    person = person or profile()
    fields.setdefault("attempts", 1 if status in (Message.Status.SENT, Message.Status.FAILED) else 0)
    found = Message.objects.create(
        dispatch=of_run.dispatch,
        profile=person,
        device=device(person),
        variant=variant,
        status=status,
        code=code,
        sent_at=sent_at if status == Message.Status.SENT else None,
        **fields,
    )
    # Marked when it was handled, not when the test ran (a refused message is dated by it).
    Message.objects.filter(pk=found.pk).update(updated_at=sent_at)
    found.refresh_from_db()
    return found


def control_member(of_run, person=None):
    return ControlMember.objects.create(run=of_run, profile=person or profile())


def event(person, name, at, **properties):
    return Event.objects.create(profile=person, name=name, properties=properties, occurred_at=at)
