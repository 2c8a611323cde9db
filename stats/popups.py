"""POST /sdk/v1/popups/report: what a Web Exit Intent pop-up did in the browser it was given
to (campaigns/popups.py gives it as a delivery ``Message``, sent).

``shown`` sets the message's ``viewed_at`` and ``clicked`` its ``clicked_at``, through
``stats.actions.tracking`` like the service worker's reports of a push (so a pop-up's shows
are its views: one definition, ``delivery.counts``); ``closed`` sets ``closed_at``. Each
counts once per message: a repeat answers ``{"recorded": false}``, still 200. A click or a
close was also a show. Only the browser the pop-up was given to may report it: a message of
another browser answers 404 like one that does not exist, so a stranger learns nothing. The
SDK's shared checks (CORS, site key, Origin, rate limit, validation) are
segments.sdk.endpoint's.
"""

from typing import Literal

from django.db import transaction
from django.urls import path
from django.utils import timezone
from pydantic import Field

from accounts.params import positive_int
from delivery.models import Dispatch, Message
from segments.sdk.endpoint import error, sdk_endpoint
from segments.sdk.schemas import SdkIn
from stats.actions.tracking import do_record_engagement, note_changed

KINDS = {"shown": "viewed", "clicked": "clicked"}


class PopupReportIn(SdkIn):
    message: str = Field(min_length=1, max_length=32, description="The id /sdk/v1/popups gave with the pop-up")
    event: Literal["shown", "clicked", "closed"]


def do_report_popup(client_id, message_id, event, *, now=None):
    """Record ``event`` of the pop-up message ``message_id`` (text, as the SDK sends it) for
    the browser ``client_id``. Returns None when no such pop-up was given to that browser,
    else whether the report was new."""
    now = now or timezone.now()
    pk = positive_int(message_id)
    if pk is None:
        return None
    given = Message.objects.filter(
        pk=pk, dispatch__channel=Dispatch.Channel.EXIT_INTENT, device__client_id=client_id
    ).values("pk", "dispatch_id")
    with transaction.atomic():
        message = given.first()
        if message is None:
            return None
        if event in KINDS:
            return do_record_engagement(pk, KINDS[event], now)
        do_record_engagement(pk, "viewed", now)  # a pop-up closed was shown
        closed = Message.objects.filter(pk=pk, closed_at__isnull=True).update(closed_at=now)
        if closed:
            note_changed([message["dispatch_id"]])
        return bool(closed)


@sdk_endpoint(PopupReportIn)
def report(request, data):
    recorded = do_report_popup(data.clientId, data.message, data.event)
    if recorded is None:
        return error(404, "No such pop-up was given to this browser.")
    return {"recorded": recorded}


# Mounted at /sdk/v1/ by config/urls.py, beside the SDK's other endpoints: public.
urlpatterns = [path("popups/report", report, name="sdk-popups-report")]
