"""Which of a person's devices a push campaign reaches: seed 002's "Target devices" — web,
native apps, or all of them. Decided here and nowhere else: a scheduled run's audience
(``campaigns.actions.runs.Audience``, and so the forecast and the personalisation lint's
sample), live and API-triggered sends (``campaigns.live.sending``), test sends, the Who step's
estimated reach and Overview, and the What step's previews and content checks all ask
``platforms`` / ``devices``.

``Campaign.target_devices`` names the kinds: "web", "apps" (Android and iOS, narrowed by
``Campaign.platforms``) or "all" (both). Empty is the channel's own kind (Web Push: web;
Mobile Push: apps), so a campaign made before the choice existed reaches what it always did.

One content goes to every kind: the send pipeline builds each message's payload for its
device's platform (``delivery.payloads.build_payload``: the service worker's JSON, FCM,
APNs), one message per reachable device. What each platform does with the What step's
fields is ``IGNORED`` below; what would break on one (a silent push or an app-only link on
the web) is refused at its field by ``content_problems``.
"""

from campaigns.models import Campaign
from delivery.actions.sending import safari_left_out
from segments.models import Device
from segments.rules.compiler import reachable_devices

Target = Campaign.TargetDevices
WEB, ANDROID, IOS = Device.Platform.WEB, Device.Platform.ANDROID, Device.Platform.IOS
APP_PLATFORMS = (ANDROID, IOS)
LABELS = {WEB: "Web", ANDROID: "Android", IOS: "iOS"}
# A push channel's own kind: what an empty ``target_devices`` means. Other channels
# (pop-ups, the permission banner) push to no device.
CHANNEL_TARGET = {Campaign.Channel.WEB_PUSH: Target.WEB, Campaign.Channel.MOBILE_PUSH: Target.APPS}


def is_push(campaign):
    return campaign.channel in CHANNEL_TARGET


def target_of(campaign, target=None):
    """The campaign's Target devices (``target``: a value the Who form holds now, unsaved):
    its choice, else its channel's own kind; "" for a channel that pushes to no device."""
    if not is_push(campaign):
        return ""
    chosen = campaign.target_devices if target is None else target
    return chosen if chosen in Target.values else CHANNEL_TARGET[campaign.channel]


def platforms(campaign, *, target=None, apps=None):
    """The device platforms the campaign reaches, in the order web, android, ios. Native
    apps are narrowed to the chosen ``Campaign.platforms`` (``apps``: as the Who form holds
    them now); none chosen means both."""
    target = target_of(campaign, target)
    found = [WEB] if target in (Target.WEB, Target.ALL) else []
    if target in (Target.APPS, Target.ALL):
        chosen = campaign.platforms if apps is None else apps
        found += [p for p in APP_PLATFORMS if p in (chosen or ())] or list(APP_PLATFORMS)
    return tuple(found)


def devices(campaign, contents=None):
    """The reachable devices the campaign's messages go to, one message each: of its
    ``platforms``, and without Safari when every variant is for "All browsers but Safari"
    (``contents``: {key: content} being sent; default: the campaign's variants)."""
    reached = platforms(campaign)
    if not reached:
        return Device.objects.none()  # a pop-up or a banner: shown on a page, pushed to no device
    found = reachable_devices()
    # One platform keeps the query the run's INSERT … SELECT was measured with (platform = …).
    found = found.filter(platform=reached[0]) if len(reached) == 1 else found.filter(platform__in=reached)
    if WEB in reached:
        if contents is None:
            contents = {variant.pk: variant.content for variant in campaign.variants.all()}
        if safari_left_out(contents):
            found = found.exclude(browser=Device.Browser.SAFARI)
    return found


def describe(campaign):
    """Target devices in words, for Overview: "Web and native apps (Android, iOS)"."""
    reached = platforms(campaign)
    apps = [LABELS[p] for p in reached if p in APP_PLATFORMS]
    words = ["Web"] if WEB in reached else []
    if apps:
        words.append(f"{'native apps' if words else 'Native apps'} ({', '.join(apps)})")
    return " and ".join(words)


def reach_rows(campaign, reachable, *, target=None, apps=None):
    """[(platform, label, people)] of an estimate's per-platform reachable counts
    (``segments.actions.reach.Reach.reachable``) for the platforms the campaign reaches."""
    reachable = reachable or {}
    return [(p, LABELS[p], reachable.get(p, 0)) for p in platforms(campaign, target=target, apps=apps)]


def reach_devices(campaign):
    """What the Who step's estimate counts a person by (``segments.actions.reach.DEVICES``):
    "ask" for a Push permission request, whose banner goes to web browsers still at Ask
    (campaigns/onboarding.py), not to the people push already reaches; else "reachable"."""
    return "ask" if campaign.channel == Campaign.Channel.PERMISSION_REQUEST else "reachable"


def estimable(campaign):
    """Whether the Who step counts the reach up front: a scheduled campaign's audience, or a
    permission request's (whoever is at Ask now); a live campaign's people qualify as they
    do the trigger."""
    return not campaign.is_live or campaign.channel == Campaign.Channel.PERMISSION_REQUEST


# --- one content, several platforms ---------------------------------------------------------

# The What step's fields a platform of the other kind leaves out (delivery/payloads.py:
# ``_web`` takes the title, text, icon, image, two buttons, the link and key-values, and the
# pipeline applies a content's time to live to web pushes only; ``_android`` and ``_ios``
# take no icon). Keyed by the channel whose form wrote the content, then by platform. The
# Mobile Push form already says which of its fields are Android's or iOS's.
IGNORED = {
    Campaign.Channel.WEB_PUSH: {
        ANDROID: ("icon", "ttl", "require_interaction"),
        IOS: ("icon", "ttl", "require_interaction"),
    },
    Campaign.Channel.MOBILE_PUSH: {
        WEB: (
            "subtitle",
            "ios_media_url",
            "carousel",
            "sound",
            "badge",
            "category",
            "mutable_content",
            "content_available",
            "android_channel_id",
            "button3",
            "button_ids",
        ),
    },
}
IGNORED_WORDS = {
    "icon": "icon (the app's own is shown)",
    "ttl": "time to live (the run's own applies)",
    "require_interaction": "“Keep it on screen”",
    "subtitle": "subtitle",
    "ios_media_url": "iOS image or video",
    "carousel": "carousel",
    "sound": "sound",
    "badge": "badge",
    "category": "category",
    "mutable_content": "mutable-content",
    "content_available": "content-available",
    "android_channel_id": "Android channel",
    "button3": "a third button",
    "button_ids": "button action ids",
}


def ignored(campaign, reached=None):
    """[(platform label, [field words])]: for each targeted platform of the other kind than
    the campaign's channel, the fields it does not use (the What step says so)."""
    reached = platforms(campaign) if reached is None else reached
    by_platform = IGNORED.get(campaign.channel, {})
    return [(LABELS[p], [IGNORED_WORDS[name] for name in by_platform[p]]) for p in reached if p in by_platform]


def _app_link(value):
    """An address a browser cannot open: an app's own scheme (myapp://cart)."""
    return bool(value) and not value.strip().lower().startswith(("http://", "https://"))


def content_problems(campaign, content, reached=None):
    """{form field: message} for content a targeted platform cannot take: the web has no
    silent push (content-available with no text) and opens no app link. Mobile Push content
    sent to web devices only; web content is valid for apps as it is."""
    reached = platforms(campaign) if reached is None else reached
    if WEB not in reached or campaign.channel != Campaign.Channel.MOBILE_PUSH:
        return {}
    why = "Web devices are targeted (Who)"
    found = {}
    if content.get("content_available") and not (content.get("title") and content.get("body")):
        found["content_available"] = f"{why}: browsers have no silent push. Give a title and a message."
    if _app_link(content.get("url")):
        found["url"] = f"{why}: a browser opens only https:// or http:// links, not app links."
    for row, button in enumerate(content.get("buttons") or [], start=1):
        if row <= 2 and _app_link(button.get("url")):
            found[f"button{row}_url"] = f"{why}: a browser opens only https:// or http:// links, not app links."
    return found
