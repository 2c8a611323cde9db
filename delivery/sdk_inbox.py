"""The web SDK's App Inbox endpoints (/sdk/v1/inbox…, ``Clarion.inbox()``): a browser lists,
marks read and deletes the items of its own person's inbox, never anyone else's.

The site key is public, so a browser proves whose inbox it asks for twice: the site's server
signed the identity (``identityHash``, as ``identify()`` sends it, required here whether or not
the site verifies identities: an inbox holds what was sent to one person), and this browser's
device (its ``clientId``) belongs to that person's profile, i.e. ``identify()`` linked it. Any
failure is one 403 that tells nothing about the person. The checks every SDK endpoint makes
(Origin, rate limit, body size, schema) are ``segments.sdk.endpoint``'s.
"""

from django.urls import path
from pydantic import Field

from delivery.actions import inbox
from segments.models import Device
from segments.schemas import Identity
from segments.sdk.endpoint import error, sdk_endpoint
from segments.sdk.schemas import SdkIn

LARGEST_ID = 2**63 - 1
NOT_YOURS = (
    "This browser may not read that inbox: call identify() with the identity and its identityHash "
    "(signed by your server) first."
)
NO_ITEM = "This person has no such inbox item (it may have expired or been deleted)."


class InboxIn(SdkIn):
    identity: Identity
    identityHash: str = Field(min_length=1, max_length=128)


class InboxPageIn(InboxIn):
    limit: int = Field(inbox.PAGE, ge=1, le=inbox.MAX_PAGE)
    offset: int = Field(0, ge=0, le=inbox.MAX_OFFSET)


class InboxItemIn(InboxIn):
    id: int = Field(ge=1, le=LARGEST_ID)


def _profile(request, data):
    """The person whose inbox this browser may read, or None."""
    if not request.sdk_site.vouches_for(data.identity, data.identityHash):
        return None
    device = (
        Device.objects.filter(client_id=data.clientId, platform=Device.Platform.WEB, profile__identity=data.identity)
        .select_related("profile")
        .first()
    )
    return device.profile if device else None


def _json(item):
    found = inbox.as_dict(item)
    for name in ("created_at", "expires_at", "read_at"):
        found[name] = found[name].isoformat() if found[name] else None
    return found


@sdk_endpoint(InboxPageIn)
def inbox_page(request, data):
    profile = _profile(request, data)
    if profile is None:
        return error(403, NOT_YOURS)
    items, unread, total = inbox.page_of(profile, limit=data.limit, offset=data.offset)
    return {"items": [_json(item) for item in items], "unread": unread, "total": total}


@sdk_endpoint(InboxItemIn)
def read(request, data):
    profile = _profile(request, data)
    if profile is None:
        return error(403, NOT_YOURS)
    item = inbox.do_mark_read(profile, data.id)
    return _json(item) if item else error(404, NO_ITEM)


@sdk_endpoint(InboxItemIn)
def delete(request, data):
    profile = _profile(request, data)
    if profile is None:
        return error(403, NOT_YOURS)
    return {"deleted": True} if inbox.do_delete(profile, data.id) else error(404, NO_ITEM)


app_name = "sdk-inbox"
urlpatterns = [
    path("inbox", inbox_page, name="inbox"),
    path("inbox/read", read, name="read"),
    path("inbox/delete", delete, name="delete"),
]
