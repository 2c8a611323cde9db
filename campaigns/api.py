"""The campaigns' JSON endpoint (/api/v1/): a backend asks an API-triggered campaign to send
(campaigns/live/requested.py decides and sends; campaigns/idempotency.py keeps the answers)."""

import json
from typing import Annotated, Any

from django.http import HttpResponse
from ninja import Header, Path, Router, Schema, Status
from pydantic import Field, PlainValidator, WithJsonSchema

from campaigns import idempotency
from campaigns.live.requested import NotSending, do_send_requested
from campaigns.models import Campaign
from segments import numbers
from segments.api import BAD, ErrorOut
from segments.schemas import MAX_BATCH, Identity, Record

router = Router(tags=["Campaigns"])

MAX_DATA_BYTES = 16 * 1024  # the JSON of ``data``: it is copied into each message's context
MAX_DATA_DEPTH = 5  # {"order": {"items": [{"name": …}]}} is 4
MAX_DATA_NAME = 100
LARGEST_ID = 2**63 - 1  # a bigint: a larger id is no campaign, not a database error


def _data(value):
    """An object of Liquid variables: names up to 100 characters, numbers within
    ``segments.numbers``' bounds, nested at most ``MAX_DATA_DEPTH`` deep, and at most
    ``MAX_DATA_BYTES`` as JSON."""
    if not isinstance(value, dict):
        raise ValueError('must be an object of variables, e.g. {"order_id": "A-1001"}')
    _check(value, 1)
    if len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")) > MAX_DATA_BYTES:
        raise ValueError(f"must be at most {MAX_DATA_BYTES:,} bytes as JSON")
    return value


def _check(value, depth):
    if depth > MAX_DATA_DEPTH:
        raise ValueError(f"must be nested at most {MAX_DATA_DEPTH} levels deep")
    if isinstance(value, dict):
        for name, item in value.items():
            if not name or len(name) > MAX_DATA_NAME:
                raise ValueError(f"variable names must be 1 to {MAX_DATA_NAME} characters")
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
    elif numbers.is_number(value) and not numbers.in_range(value):
        raise ValueError(numbers.OUT_OF_RANGE)


Data = Annotated[
    dict[str, Any],
    PlainValidator(_data),
    WithJsonSchema(
        {
            "type": "object",
            "description": (
                f"Liquid variables for this send, e.g. {{{{ data.order_id }}}}: at most {MAX_DATA_BYTES:,} bytes "
                f"of JSON, nested at most {MAX_DATA_DEPTH} deep."
            ),
        }
    ),
]


class SendIn(Record):
    to: list[Identity] = Field(
        min_length=1, max_length=MAX_BATCH, description="The people to send to: 1 to 1,000 profile identities."
    )
    data: Data = Field(default_factory=dict)


class SendResult(Schema):
    identity: str
    status: str = Field(
        description="queued, unknown_identity (no profile), not_reachable (no reachable device of the kinds the "
        "campaign targets: web, native apps or all), held_out (control group) or skipped (reason says why: "
        "segment, daily limit, total cap, …)"
    )
    reason: str
    message_ids: list[int] = Field(description="Queued: one message per device; DND and caps may still hold it.")


class SendOut(Schema):
    campaign: int
    queued: int
    results: list[SendResult]


IDEMPOTENCY_HELP = (
    "Optional. A key of yours for this request (e.g. a UUID), 1 to 255 printable ASCII characters. "
    "Repeated with the same body within 30 days, it returns the first answer with "
    "`Idempotent-Replayed: true` and sends nothing more; with another body, 422."
)


@router.post(
    "/campaigns/{campaign_id}/send",
    response={200: SendOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, **BAD},
    summary="Send an API-triggered campaign to up to 1,000 people",
    description=(
        "Sends the campaign's message to the people in `to`, with `data` as Liquid variables "
        "(`{{ data.order_id }}`). The campaign must be API triggered and running, inside its start and end; "
        "its segment, control group, daily limit, total cap, DND hours, cut-off and the global frequency "
        "caps apply. The answer says, per identity, what became of it."
    ),
    openapi_extra={
        "responses": {
            "200": {
                "headers": {
                    "Idempotent-Replayed": {
                        "description": "`true` when this is the kept answer to an earlier request with the same "
                        "Idempotency-Key: nothing more was sent.",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
                }
            }
        }
    },
)
def send(
    request,
    campaign_id: Annotated[int, Path(ge=1, le=LARGEST_ID)],
    payload: SendIn,
    response: HttpResponse,
    idempotency_key: Annotated[str | None, Header(alias=idempotency.HEADER, description=IDEMPOTENCY_HELP)] = None,
):
    try:
        key = idempotency.check_key(idempotency_key)
    except ValueError as problem:
        return Status(400, _invalid(idempotency.HEADER, str(problem)))
    if not Campaign.objects.filter(pk=campaign_id, kind=Campaign.Kind.API_TRIGGERED).exists():
        return Status(404, {"detail": f"No API-triggered campaign has id {campaign_id}."})
    body = payload.model_dump(mode="json")

    def answer():
        results = do_send_requested(campaign_id, payload.to, payload.data)
        queued = sum(result["status"] == "queued" for result in results)
        return {"campaign": campaign_id, "queued": queued, "results": results}

    try:
        if key is None:
            return answer()
        found, replayed = idempotency.answer_once(request.auth, key, campaign_id, body, answer)
    except Campaign.DoesNotExist:
        return Status(404, {"detail": f"No API-triggered campaign has id {campaign_id}."})
    except NotSending as problem:
        return Status(409, {"detail": str(problem)})
    except idempotency.KeyReused as problem:
        return Status(422, {"detail": str(problem)})
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return found


def _invalid(field, reason):
    # The shape of every other 400 (config/api.py invalid_input).
    return {
        "detail": "The request was not accepted; nothing was sent.",
        "errors": [{"index": None, "field": field, "reason": reason}],
    }
