"""The JSON API: one NinjaAPI composed of each app's router, with its key check,
rate limit and error answers. Every error a client can cause gets a 4xx with a
message that names the problem; never a 500."""

import hmac
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from django_ratelimit.core import get_usage
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from segments.api import router as audience_router
from segments.models import ApiKey

# last_used_at is for people ("used 3 minutes ago"); writing it on every request
# would add a row update to each call.
LAST_USED_RESOLUTION_SECONDS = 60


class RateLimited(HttpError):
    def __init__(self, retry_after):
        self.retry_after = max(1, int(retry_after))
        super().__init__(429, f"Too many requests for this API key; retry after {self.retry_after} s.")


class ApiKeyAuth(HttpBearer):
    """Authorization: Bearer clk_<prefix>_<secret>."""

    openapi_description = "An API key from Settings → API keys, sent as `Authorization: Bearer clk_…`."

    def authenticate(self, request, token):
        parts = token.split("_")
        # The prefix is hex (ApiKey.save); anything else, NUL included, is no key of ours
        # and never reaches the database, which would refuse NUL with a 500.
        if len(parts) < 3 or parts[0] != "clk" or not re.fullmatch(r"[0-9a-f]+", parts[1]):
            return None
        key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
        if key is None or not hmac.compare_digest(key.hashed_key, ApiKey.hash(token)):
            return None
        usage = get_usage(
            request, group="api", key=lambda group, request: key.prefix, rate=f"{key.rate_per_minute}/m", increment=True
        )
        if usage and usage["should_limit"]:
            raise RateLimited(usage["time_left"])
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key


api = NinjaAPI(
    title="Clarion API",
    version="1",
    description="Upload profiles and events, and register app devices. Batches are written whole or not at all.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
)
api.add_router("/v1/", audience_router)


def error(request, status, detail, errors=None):
    body = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def invalid_input(request, exc):
    """400 naming each bad record by its index in the batch, its field and the reason."""
    errors = []
    for item in exc.errors:
        # ninja's locations look like ("body", "payload", "events", 3, "properties", "price").
        loc = [part for part in item.get("loc", ()) if part not in ("body", "payload")]
        index = next((part for part in loc if isinstance(part, int)), None)
        field_parts = loc[loc.index(index) + 1 :] if index is not None else loc
        errors.append(
            {
                "index": index,
                "field": ".".join(str(part) for part in field_parts) or None,
                "reason": item.get("msg", "invalid"),
            }
        )
    return error(request, 400, "The request was not accepted; nothing was written.", errors)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return error(request, 401, "Missing, revoked or wrong API key: send Authorization: Bearer clk_….")


@api.exception_handler(RateLimited)
def rate_limited(request, exc):
    response = error(request, 429, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return error(request, 413, f"The request body is over {limit} MB; send smaller batches.")


def urls():
    """The API's URL patterns. They authenticate by API key, not by session, so they
    are exempt from the dashboard's login requirement."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace
