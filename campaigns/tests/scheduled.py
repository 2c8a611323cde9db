"""Building what the scheduling tests need: a campaign ready to schedule, and an audience of
profiles with reachable devices. Not a test module."""

import itertools

from campaigns.models import Campaign, Variant
from segments.models import Device, Profile, Segment

EVERYONE = {"match": "all", "conditions": []}
ALL_STEPS = ["who", "when", "what", "setup"]
_numbers = itertools.count(1)


def make_campaign(owner, *, variants=None, rules=None, **fields):
    """A web push campaign ready to schedule (one time unless ``fields`` say otherwise), with
    one variant or ``variants`` (dicts of Variant fields, names A, B, C … by default)."""
    segment = Segment.objects.create(name=f"Audience {next(_numbers)}", rules=rules or EVERYONE, is_adhoc=True)
    values = {
        "name": "Spring sale",
        "channel": Campaign.Channel.WEB_PUSH,
        "kind": Campaign.Kind.ONE_TIME,
        "owner": owner,
        "segment": segment,
        "steps_done": ALL_STEPS,
    }
    campaign = Campaign.objects.create(**(values | fields))
    for position, extra in enumerate(variants or [{}]):
        name = chr(ord("A") + position)
        content = {"title": f"Hello from {name}", "body": "It is spring"}
        Variant.objects.create(campaign=campaign, position=position, **({"name": name, "content": content} | extra))
    return campaign


def audience(count, *, platform="web", timezone="", properties=None, **profile_fields):
    """``count`` profiles, each with one allowed device on ``platform``; the profiles."""
    batch = next(_numbers)
    profiles = Profile.objects.bulk_create(
        [
            Profile(identity=f"s{batch}-{i}", timezone=timezone, properties=properties or {}, **profile_fields)
            for i in range(count)
        ]
    )
    Device.objects.bulk_create(
        [
            Device(
                profile=profile,
                platform=platform,
                endpoint=f"https://push.example/{batch}/{i}" if platform == "web" else "",
                token="" if platform == "web" else f"token-{batch}-{i}",
                push_status=Device.PushStatus.ALLOWED,
            )
            for i, profile in enumerate(profiles)
        ]
    )
    return profiles
