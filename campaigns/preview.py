"""The What step's preview: a variant rendered with a test profile's data, drawn as each
browser or OS would show it, and the size of the push it becomes.

Rendering uses the same Liquid as a send (``delivery.content.render``) with plain text
out; the template shows it through Django's autoescaping, never ``|safe``. Linked
Content is not fetched here: it is fetched at send time, so ``linked.*`` is empty.
"""

from dataclasses import dataclass, field

from campaigns import targeting
from delivery.content import ContentError, check, profile_context, render
from delivery.payloads import MAX_PUSH_BYTES, build_payload, encrypted_size, payload_bytes
from segments.models import Event

# Warn a little before the limit: personalised text differs per person, and the test
# profile's name may be shorter than someone else's.
NEAR_SHARE = 0.9
# The largest ids the pipeline puts in a payload, so the size is not understated.
SIZE_MESSAGE_ID = 2**63 - 1
SIZE_COLLAPSE_KEY = "c" * 40


@dataclass(frozen=True)
class Surface:
    """How one browser or OS shows a notification: about how many characters of the
    title and text stay visible, and whether it shows an image, buttons and an icon."""

    key: str
    label: str
    platform: str  # the payload platform: web, android, ios
    title_chars: int
    body_chars: int
    image: bool
    buttons: int
    icon: bool = True
    note: str = ""


# The one definition of how many characters each surface shows before it cuts the text with
# "…" (the preview draws with it; the personalisation lint, campaigns/actions/lint.py, counts people
# past it). No vendor documents these: they are the visible lengths the push vendors publish
# from their own screenshots, rounded down where they disagree — Batch, "What is the optimal
# length for every web push notification?" (doc.batch.com: Chrome/Edge on Windows 70/140,
# macOS 35/…, Firefox 50/200), Reteno, "Push notification character limits" (reteno.com: iOS
# shows 178 characters of text), webpushnotifications.xyz's table (Chrome on macOS 43/88,
# Safari on macOS 49/103). Fonts, screen widths and OS versions move them a little.
WEB_SURFACES = (
    Surface("chrome-windows", "Chrome on Windows", "web", 60, 120, image=True, buttons=2),
    Surface(
        "chrome-macos", "Chrome on macOS", "web", 40, 90, image=False, buttons=2, note="Buttons sit under Options."
    ),
    Surface("chrome-android", "Chrome on Android", "web", 40, 200, image=True, buttons=2),
    Surface("edge-windows", "Edge on Windows", "web", 60, 120, image=True, buttons=2),
    Surface("firefox", "Firefox (Windows, macOS)", "web", 60, 120, image=False, buttons=0),
    Surface(
        "safari-macos", "Safari on macOS", "web", 40, 90, image=False, buttons=0, icon=False, note="Your site's icon."
    ),
    Surface(
        "safari-ios",
        "Safari on iOS (web app on the home screen)",
        "web",
        40,
        170,
        image=False,
        buttons=0,
        icon=False,
        note="Your site's icon.",
    ),
)
MOBILE_SURFACES = (
    Surface("android", "Android", "android", 65, 240, image=True, buttons=3),
    Surface("ios", "iOS", "ios", 60, 178, image=True, buttons=3, icon=False, note="Your app's icon."),
)
# Per device platform: a campaign is drawn on the surfaces of the platforms it targets
# (``campaigns.targeting.platforms``: web, native apps or all).
PLATFORM_SURFACES = {"web": WEB_SURFACES, "android": MOBILE_SURFACES[:1], "ios": MOBILE_SURFACES[1:]}
SIZE_LABELS = {"web": "Web Push (encrypted)", "android": "Android (FCM)", "ios": "iOS (APNs)"}


@dataclass
class Drawn:
    surface: Surface
    title: str
    body: str
    subtitle: str = ""
    image: str = ""
    icon: str = ""
    buttons: list = field(default_factory=list)
    cut_title: bool = False
    cut_body: bool = False
    hidden: list = field(default_factory=list)  # what this surface leaves out


@dataclass
class Size:
    platform: str
    label: str
    bytes: int
    limit: int = MAX_PUSH_BYTES

    @property
    def over(self):
        return self.bytes > self.limit

    @property
    def near(self):
        return not self.over and self.bytes >= self.limit * NEAR_SHARE


@dataclass
class Preview:
    rendered: dict
    errors: dict  # {content path: message}
    surfaces: list
    sizes: list
    linked: list  # Linked Content names, fetched at send time
    skips_safari: bool = False

    @property
    def size_warnings(self):
        return [size for size in self.sizes if size.over or size.near]

    @property
    def groups(self):
        """[(key, heading, drawn surfaces)]: the web preview and the app preview, each shown
        when the campaign targets that kind of device (``campaigns.targeting``)."""
        found = []
        for key, heading, platforms in (("web", "Web", ("web",)), ("apps", "Native apps", ("android", "ios"))):
            drawn = [d for d in self.surfaces if d.surface.platform in platforms]
            if drawn:
                found.append((key, heading, drawn))
        return found


def context_for(campaign, profile):
    """The Liquid context a send would have, from a test profile (or nothing)."""
    event = {}
    if profile is not None and campaign.is_live and campaign.trigger_event:
        latest = Event.objects.filter(profile=profile, name=campaign.trigger_event).order_by("-occurred_at").first()
        event = dict(latest.properties) if latest else {}
    return {"profile": profile_context(profile) if profile is not None else {}, "event": event, "linked": {}}


def rendered(content, context):
    """(rendered content, errors): Liquid that does not parse is reported, not raised."""
    errors = check(content)
    if errors:
        return content, errors
    try:
        return render(content, context), {}
    except ContentError as error:
        return content, {error.field: error.message}


def _cut(text, limit):
    text = text or ""
    return (text[: limit - 1].rstrip() + "…", True) if len(text) > limit else (text, False)


def draw(surface, content):
    title, cut_title = _cut(content.get("title"), surface.title_chars)
    body, cut_body = _cut(content.get("body"), surface.body_chars)
    drawn = Drawn(surface=surface, title=title, body=body, cut_title=cut_title, cut_body=cut_body)
    drawn.subtitle = content.get("subtitle", "") if surface.platform == "ios" else ""
    image = content.get("ios_media_url") or content.get("image") if surface.platform == "ios" else content.get("image")
    buttons = [button for button in content.get("buttons") or [] if button.get("title")]
    if image and not surface.image:
        drawn.hidden.append("image")
    drawn.image = image if surface.image else ""
    if buttons and len(buttons) > surface.buttons:
        drawn.hidden.append("buttons" if surface.buttons == 0 else f"buttons after the {surface.buttons} shown")
    drawn.buttons = buttons[: surface.buttons]
    if surface.icon and not content.get("no_icon"):
        drawn.icon = content.get("icon", "")
    return drawn


def sizes(content, platforms):
    """The push each of ``platforms`` would get, in bytes: Web Push encrypted (RFC 8291,
    ``delivery.payloads.encrypted_size``), FCM and APNs as sent JSON; all stop at 4 KB."""
    found = []
    for platform in platforms:
        payload = build_payload(platform, content, message_id=SIZE_MESSAGE_ID, collapse_key=SIZE_COLLAPSE_KEY)
        size = encrypted_size(payload) if platform == "web" else len(payload_bytes(payload))
        found.append(Size(platform, SIZE_LABELS[platform], size))
    return found


def surfaces_for(campaign, content):
    """The surfaces ``content`` is shown on: those of each platform the campaign targets,
    without Safari's when the content leaves Safari out."""
    skips_safari = content.get("browsers") == "not_safari"
    return [
        surface
        for platform in targeting.platforms(campaign)
        for surface in PLATFORM_SURFACES[platform]
        if not (skips_safari and surface.key.startswith("safari"))
    ]


def preview(campaign, content, profile=None):
    """Everything the preview partial shows for one variant's ``content``."""
    out, errors = rendered(content, context_for(campaign, profile))
    skips_safari = content.get("browsers") == "not_safari"
    return Preview(
        rendered=out,
        errors=errors,
        surfaces=[draw(surface, out) for surface in surfaces_for(campaign, content)],
        sizes=sizes(out, targeting.platforms(campaign)),
        linked=[item["name"] for item in content.get("linked") or [] if item.get("name")],
        skips_safari=skips_safari,
    )
