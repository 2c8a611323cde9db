"""What clients may send about people, checked field by field.

The JSON API, the web SDK endpoints and the CSV import all validate through these,
so a value refused in one is refused in the others with the same words.
"""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic import BaseModel as Schema
from pydantic_core import InitErrorDetails, PydanticCustomError

from segments import numbers

MAX_TEXT = 2000
ANONYMOUS_PREFIX = "anon:"


def _property_value(value):
    """Text, a number, true/false, null, or a flat list of those: what a segment can filter on."""
    items = value if isinstance(value, list) else [value]
    if any(numbers.is_number(item) and not numbers.in_range(item) for item in items):
        # Said on its own: "a number" alone would not tell why 10**400 is refused.
        raise ValueError(numbers.OUT_OF_RANGE)
    if value is None or _is_scalar(value):
        return value
    if isinstance(value, list) and len(value) <= 100 and all(_is_scalar(item) for item in value):
        return value
    raise ValueError(
        "must be text (up to 2,000 characters), a number, true/false, null, or a list of up to 100 of those"
    )


def _is_scalar(value):
    # One bound for every number a segment may compare (segments/numbers.py says why).
    if numbers.is_number(value):
        return numbers.in_range(value)
    return isinstance(value, bool) or (isinstance(value, str) and len(value) <= MAX_TEXT)


_NUMBER_SCHEMA = {"type": "number", "minimum": -numbers.LIMIT, "maximum": numbers.LIMIT}
_SCALAR_SCHEMA = {"anyOf": [{"type": "string", "maxLength": MAX_TEXT}, _NUMBER_SCHEMA, {"type": "boolean"}]}
PropertyValue = Annotated[
    Any,
    PlainValidator(_property_value),
    WithJsonSchema({"anyOf": [*_SCALAR_SCHEMA["anyOf"], {"type": "null"}, {"type": "array", "items": _SCALAR_SCHEMA}]}),
]
Properties = Annotated[dict[Annotated[str, Field(min_length=1, max_length=200)], PropertyValue], Field(max_length=200)]

_TIMEZONES = frozenset(available_timezones())
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_BATCH = 1000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class Strict(Schema):
    # An unknown field is an error that names it, not something silently dropped;
    # NaN and Infinity are refused because no database JSON column can store them.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class Record(Strict):
    """One profile, event or device, or a call of the web SDK: checked once for text no
    database can store."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data):
        # PostgreSQL text and jsonb hold neither U+0000 nor unpaired surrogates (which
        # JSON's \\u escapes can produce): refuse them here, at the field that holds them.
        found = _unstorable(data)
        if found is not None:
            loc, problem, text = found
            error = InitErrorDetails(type=PydanticCustomError("unstorable_text", problem), loc=loc, input=text)
            raise ValidationError.from_exception_data(cls.__name__, [error])
        return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text):
    """Why ``text`` cannot be stored ("contains a NUL character (U+0000)"), or None."""
    if "\x00" in text:
        return "contains a NUL character (U+0000)"
    if _SURROGATE.search(text):
        return "contains an unpaired UTF-16 surrogate"
    return None


def _unstorable(value, loc=()):
    """(where, why, the text) for the first string in ``value`` that cannot be stored, or None."""
    if isinstance(value, str):
        problem = unstorable(value)
        return (loc, problem, value) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable(key) if isinstance(key, str) else None
            if problem:
                return (loc, f"a name {problem}", key)
            found = _unstorable(item, (*loc, key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, (*loc, index))
            if found:
                return found
    return None


def _storable(value):
    problem = unstorable(value)
    if problem:
        raise PydanticCustomError("unstorable_text", problem)
    return value


# Text a client names something by outside a Record (the API's path parameters).
StorableText = Annotated[str, AfterValidator(_storable)]


def _not_anonymous(value):
    # "anon:<client id>" names the web SDK's not-yet-identified browsers; a client
    # sending one could merge itself into a stranger's anonymous profile.
    if value.startswith(ANONYMOUS_PREFIX):
        raise ValueError(f"must not start with {ANONYMOUS_PREFIX!r}, which Clarion keeps for anonymous visitors")
    return value


Identity = Annotated[
    str, Field(min_length=1, max_length=255, description="Your own id for this person"), AfterValidator(_not_anonymous)
]


class ProfileIn(Record):
    """A profile to create or update. Only the fields sent are changed; custom
    properties are merged into the stored ones (send null to remove one)."""

    identity: Identity
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, description="E.164, e.g. +14155550100")
    properties: Properties | None = None
    date_of_birth: date | None = None
    age: int | None = Field(None, ge=0, le=130)
    gender: Literal["female", "male", "other", ""] | None = None
    country: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=100)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    timezone: str | None = Field(None, description="IANA time zone, e.g. Europe/Paris")
    language: str | None = Field(None, max_length=35, description="BCP 47 tag, e.g. en or pt-BR")
    email_unsubscribed: bool | None = None
    sms_unsubscribed: bool | None = None
    is_test: bool | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value):
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError("not a valid email address") from None
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value):
        if value and not _PHONE.match(value):
            raise ValueError("must be in E.164 form: + then 7 to 15 digits, e.g. +14155550100")
        return value

    @field_validator("latitude", "longitude")
    @classmethod
    def _to_the_centimetre(cls, value):
        # Seven decimals is about 1 cm; it also keeps subnormal numbers out, which
        # PostgreSQL's trigonometry refuses (underflow) in radius segments.
        return None if value is None else round(value, 7)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value):
        if value and value not in _TIMEZONES:
            raise ValueError("not an IANA time zone name, e.g. Europe/Paris")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value):
        if value and not _LANGUAGE.match(value):
            raise ValueError("not a BCP 47 language tag, e.g. en or pt-BR")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _past(cls, value):
        if value and value > date.today():
            raise ValueError("is in the future")
        return value


class ProfilesIn(Strict):
    profiles: list[ProfileIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventIn(Record):
    identity: Identity
    name: str = Field(min_length=1, max_length=200, description="e.g. Added To Cart")
    properties: Properties = Field(default_factory=dict)
    occurred_at: datetime | None = Field(None, description="ISO 8601; now when left out; UTC when no offset")

    @field_validator("occurred_at")
    @classmethod
    def _aware_and_not_ahead(cls, value):
        return reported_time(value)


def reported_time(value):
    """A time a client reports something happened at (an event, a push shown): in UTC
    (naive means UTC), from 1970 on and at most a day ahead (clocks drift; a report from
    the far future would sort before everything real). None stays None."""
    if value is None:
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        # Stored in UTC; PostgreSQL also refuses offsets beyond 15:59.
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if value < EARLIEST:
        raise ValueError("is before 1970")
    if value > datetime.now(UTC) + timedelta(days=1):
        raise ValueError("is more than a day in the future")
    return value


class EventsIn(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class DeviceIn(Record):
    """An app install's FCM (Android) or APNs (iOS) token, registered or refreshed.

    A refresh changes only the fields it sends: an app that re-registers its token
    on start without them must not un-block a person who blocked push, nor blank
    the app fields segments select on. A new device starts with the defaults
    (allowed, empty app fields)."""

    identity: Identity
    platform: Literal["android", "ios"]
    token: str = Field(min_length=8, max_length=512)
    install_id: str | None = Field(None, max_length=64, description="The app's id for this install, if it has one")
    push_status: Literal["allowed", "blocked"] | None = Field(
        None, description="Left out: a new device is allowed, a known one keeps its status"
    )
    app_version: str = Field("", max_length=50)
    make: str = Field("", max_length=100)
    model: str = Field("", max_length=100)
    os_version: str = Field("", max_length=50)
    sdk_version: str = Field("", max_length=50)
    categories: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value, info):
        if info.data.get("platform") == "ios" and not re.fullmatch(r"(?:[0-9a-fA-F]{2}){32,100}", value):
            # APNs device tokens are bytes that apps send as hex (64 characters today).
            raise ValueError("an APNs device token is hexadecimal, at least 64 characters")
        if not re.fullmatch(r"[A-Za-z0-9_:\-.]+", value):
            raise ValueError("may hold only letters, digits and _ : - .")
        return value


class DeviceRef(Record):
    platform: Literal["android", "ios"]
    token: str = Field(min_length=8, max_length=512)


def changed_fields(record: Schema) -> dict[str, Any]:
    """The fields the client actually sent, with their values."""
    return {name: getattr(record, name) for name in record.model_fields_set}
