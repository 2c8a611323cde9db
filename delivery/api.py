"""App Inbox's JSON endpoints (/api/v1/profiles/{identity}/inbox): an app's backend, or the
app with a key, lists a person's inbox, marks an item read and deletes one
(``delivery/actions/inbox.py``). An item of another person's is a 404, as a missing one is."""

from datetime import datetime
from typing import Annotated

from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from delivery.actions import inbox
from segments.api import BAD, ErrorOut
from segments.models import Profile
from segments.schemas import StorableText

router = Router(tags=["App Inbox"])

LARGEST_ID = 2**63 - 1  # a bigint: a larger id is no item, not a database error
ItemId = Annotated[int, Path(ge=1, le=LARGEST_ID, description="The item's id, from the listing")]
NO_ITEM = "This person has no such inbox item (it may have expired or been deleted)."


class InboxItemOut(Schema):
    id: int
    title: str = Field(description="Plain text, rendered for this person: show it as text, never as HTML.")
    body: str = Field(description="Plain text, rendered for this person.")
    url: str = Field(description="The push's deep link, or empty.")
    title_color: str = Field(description="#rrggbb, or empty for the app's own.")
    body_color: str
    background_color: str
    tags: list[str]
    created_at: datetime
    expires_at: datetime = Field(description="It is listed until then (the campaign's inbox TTL).")
    read: bool
    read_at: datetime | None


class InboxOut(Schema):
    items: list[InboxItemOut] = Field(description="Newest first.")
    unread: int = Field(description="Unread items in the whole inbox, not only this page.")
    total: int = Field(description="Items in the whole inbox.")
    limit: int
    offset: int


class InboxPage(Schema):
    limit: int = Field(inbox.PAGE, ge=1, le=inbox.MAX_PAGE, description=f"Items per page, 1 to {inbox.MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=inbox.MAX_OFFSET, description="Items to skip, newest first.")


def _profile(identity):
    return get_object_or_404(Profile, identity=identity)


@router.get(
    "/profiles/{path:identity}/inbox",
    response={200: InboxOut, 404: ErrorOut, **BAD},
    summary="A person's App Inbox",
    description=(
        "The items push campaigns copied to this person's inbox that have not expired or been deleted, newest "
        "first, with the count of unread ones. Title and message are plain text: show them as text."
    ),
)
def get_inbox(request, identity: StorableText, page: Query[InboxPage]):
    items, unread, total = inbox.page_of(_profile(identity), limit=page.limit, offset=page.offset)
    return {
        "items": [inbox.as_dict(item) for item in items],
        "unread": unread,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "/profiles/{path:identity}/inbox/{item_id}/read",
    response={200: InboxItemOut, 404: ErrorOut, **BAD},
    summary="Mark an inbox item read",
    description="The person opened it in the inbox: counted as an inbox view in the campaign's stats, once.",
)
def read_item(request, identity: StorableText, item_id: ItemId):
    item = inbox.do_mark_read(_profile(identity), item_id)
    if item is None:
        return Status(404, {"detail": NO_ITEM})
    return inbox.as_dict(item)


@router.delete(
    "/profiles/{path:identity}/inbox/{item_id}",
    response={204: None, 404: ErrorOut, **BAD},
    summary="Delete an inbox item",
)
def delete_item(request, identity: StorableText, item_id: ItemId):
    if not inbox.do_delete(_profile(identity), item_id):
        return Status(404, {"detail": NO_ITEM})
    return Status(204, None)
