"""What happened to a push on the device, reported by the app (/api/v1/engagement).

A mobile push is rendered (the app's notification was displayed: an impression), viewed
(the person saw or opened it) and clicked (tapped, or one of its buttons); push services
report none of these, so the app does, by the ``message_id`` of the push's data. Reports
go through ``stats.actions.tracking.record_batch``, the path the web service worker's and
the apps' ``Notification …`` events end in: each kind counts once per message, a repeat
changes nothing, and each kind implies the ones before it.

API keys are not tied to an app or a site (any key may upload any profile), so a key may
report on any message; a message id that names no message is an error of that item only.
"""

from collections import Counter
from datetime import datetime
from typing import Literal

from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import field_validator

from segments.api import BAD
from segments.schemas import MAX_BATCH, Strict, reported_time
from stats.actions.tracking import KINDS, Report, record_batch

router = Router(tags=["Engagement"])
# The largest id a message can have (a PostgreSQL bigint).
MAX_ID = 2**63 - 1


class ReportIn(Strict):
    message_id: int = Field(ge=1, le=MAX_ID, description="`message_id` from the push's data")
    kind: Literal[KINDS] = Field(
        description="rendered: the notification was displayed (an impression); viewed: the person saw or "
        "opened it; clicked: it or one of its buttons was tapped. Each implies the ones before it."
    )
    at: datetime | None = Field(None, description="When, ISO 8601; now when left out; at most a day ahead")

    @field_validator("message_id", mode="before")
    @classmethod
    def _not_a_boolean(cls, value):
        # JSON true would otherwise read as message 1.
        if isinstance(value, bool):
            raise ValueError("must be a message id, not true or false")
        return value

    @field_validator("at")
    @classmethod
    def _bounded(cls, value):
        return reported_time(value)


class EngagementIn(Strict):
    reports: list[ReportIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReportOut(Schema):
    index: int
    message_id: int
    kind: str
    status: Literal["recorded", "already_recorded", "unknown_message"] = Field(
        description="recorded: counted now; already_recorded: counted before (or earlier in this batch), "
        "nothing changed; unknown_message: no message has that id, nothing was recorded"
    )


class EngagementOut(Schema):
    recorded: int
    already_recorded: int
    unknown: int
    results: list[ReportOut]


@router.post(
    "/engagement",
    response={200: EngagementOut, **BAD},
    summary="Report up to 1,000 pushes rendered, viewed or clicked on the device",
)
def post_engagement(request, payload: EngagementIn):
    now = timezone.now()
    reports = [Report(item.message_id, item.kind, item.at or now) for item in payload.reports]
    done = record_batch(reports)
    results, answered = [], set()
    for index, report in enumerate(reports):
        key = (report.message_id, report.kind)
        if report.message_id not in done.found:
            status = "unknown_message"
        elif report.message_id in done.new[report.kind] and key not in answered:
            status = "recorded"
        else:
            status = "already_recorded"
        answered.add(key)
        results.append({"index": index, "message_id": report.message_id, "kind": report.kind, "status": status})
    tally = Counter(item["status"] for item in results)
    return {
        "recorded": tally["recorded"],
        "already_recorded": tally["already_recorded"],
        "unknown": tally["unknown_message"],
        "results": results,
    }
