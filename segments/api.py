"""The audience's JSON endpoints (/api/v1/): profiles, events and app devices."""

import json
from datetime import date, datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from segments.actions.ingest import InstallConflict, record_events, register_device, retire_device, upsert_profiles
from segments.models import Device, Event, Profile
from segments.schemas import DeviceIn, EventsIn, ProfilesIn, StorableText

router = Router(tags=["Audience"])
LATEST_EVENTS = 20
EVENTS_ANSWER_TYPE = "application/json; charset=utf-8"  # ninja's JSONRenderer's


class ErrorItem(Schema):
    index: int | None
    field: str | None
    reason: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] | None = None


class UpsertOut(Schema):
    created: int
    updated: int


class EventsOut(Schema):
    accepted: int
    profiles_created: int


class DeviceOut(Schema):
    id: int
    platform: str
    browser: str
    push_status: str
    token_hint: str
    categories: list[str]
    app_version: str
    make: str
    model: str
    os_version: str
    sdk_version: str
    last_seen_at: datetime | None
    retired: bool

    @staticmethod
    def resolve_token_hint(device):
        # Enough to tell devices apart; a token is a credential and is never echoed.
        address = device.token or device.endpoint
        return f"…{address[-8:]}" if address else ""

    @staticmethod
    def resolve_retired(device):
        return device.retired_at is not None


class RegisteredOut(DeviceOut):
    profile: str
    created: bool

    @staticmethod
    def resolve_profile(device):
        return device.profile.identity


class EventOut(Schema):
    name: str
    properties: dict
    occurred_at: datetime


class ProfileOut(Schema):
    identity: str
    name: str
    email: str
    phone: str
    properties: dict
    date_of_birth: date | None
    age: int | None
    gender: str
    country: str
    region: str
    city: str
    latitude: float | None
    longitude: float | None
    timezone: str
    language: str
    email_unsubscribed: bool
    sms_unsubscribed: bool
    is_test: bool
    created_at: datetime
    last_seen_at: datetime | None
    devices: list[DeviceOut]
    latest_events: list[EventOut]


BAD = {400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 429: ErrorOut}


@router.post("/profiles", response={200: UpsertOut, **BAD}, summary="Create or update up to 1,000 profiles")
def post_profiles(request, payload: ProfilesIn):
    created, updated = upsert_profiles(payload.profiles)
    return {"created": created, "updated": updated}


@router.post("/events", response={200: EventsOut, **BAD}, summary="Record up to 1,000 events")
def post_events(request, payload: EventsIn):
    accepted, profiles_created = record_events(payload.events)
    # The answer as ninja renders an EventsOut (json.dumps, its media type), written here:
    # ninja validated the two ints against the schema and rendered them through its
    # encoder, about 4% of a single event's CPU (callgrind, bench/sdk.py's events). The
    # schema still documents it; test_api_events_answer.py compares the two.
    body = json.dumps({"accepted": accepted, "profiles_created": profiles_created})
    return HttpResponse(body, content_type=EVENTS_ANSWER_TYPE)


@router.post(
    "/devices",
    response={200: RegisteredOut, 201: RegisteredOut, 409: ErrorOut, **BAD},
    summary="Register or refresh an app token",
)
def post_device(request, payload: DeviceIn):
    try:
        device, created = register_device(payload)
    except InstallConflict as conflict:
        return Status(
            409, {"detail": str(conflict), "errors": [{"index": None, "field": "install_id", "reason": str(conflict)}]}
        )
    device.created = created
    return Status(201 if created else 200, device)


@router.delete(
    "/devices/{platform}/{token}",
    response={204: None, 404: ErrorOut, **BAD},
    summary="Retire an app token (the app unregistered it)",
)
def delete_device(request, platform: Device.Platform, token: StorableText):
    if platform == Device.Platform.WEB or not retire_device(platform, token):
        return Status(404, {"detail": f"No active {platform} device has that token."})
    return Status(204, None)


@router.get("/profiles/{path:identity}", response={200: ProfileOut, 404: ErrorOut, **BAD}, summary="One profile")
def get_profile(request, identity: StorableText):
    latest = Event.objects.order_by("-occurred_at")
    profile = get_object_or_404(Profile.objects.prefetch_related("devices"), identity=identity)
    profile.latest_events = list(latest.filter(profile=profile)[:LATEST_EVENTS])
    return profile
