"""The JSON API: one NinjaAPI composed of each app's router, with its key check,
rate limit and error answers. Every error a client can cause gets a 4xx with a
message that names the problem; never a 500."""

import functools

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from accounts.params import client_ip
from accounts.ratelimit import usage as rate_usage
from campaigns.api import router as campaigns_router
from delivery.api import router as inbox_router
from segments.actions.keys import checked_and_counted
from segments.api import router as audience_router
from stats.api import router as engagement_router


class RateLimited(HttpError):
    def __init__(self, retry_after):
        self.retry_after = max(1, int(retry_after))
        super().__init__(429, f"Too many requests for this API key; retry after {self.retry_after} s.")


class ApiKeyAuth(HttpBearer):
    """Authorization: Bearer clk_<prefix>_<secret>. Each request counts against its key's
    ``rate_per_minute``; one without a valid key against its address's
    ``API_ANONYMOUS_RATE_LIMIT`` (a stream of guessed keys is slowed like any other). The
    figures are kept on the request for the rate-limit headers (``with_rate_headers``)."""

    openapi_description = "An API key from Settings → API keys, sent as `Authorization: Bearer clk_…`."

    def __call__(self, request):
        key = super().__call__(request)
        if key is None:
            _limit(request, anonymous_usage(request))
        return key

    def authenticate(self, request, token):
        key, usage = checked_and_counted(request, token)  # one Redis round trip in production
        if key is None:
            return None
        _limit(request, usage)
        return key


def anonymous_usage(request):
    """This request counted against its address's budget for calls without a valid key."""
    rate = settings.API_ANONYMOUS_RATE_LIMIT
    return rate_usage(request, group="api-anonymous", value=client_ip(request), rate=rate)


def _limit(request, usage):
    request.api_rate = usage
    if usage and usage["should_limit"]:
        raise RateLimited(usage["time_left"])


# Every answer of the API says where its caller stands (the IETF draft "RateLimit header
# fields for HTTP" names the idea; these are the names most APIs and clients know):
# the requests a minute allowed, those left in this minute, and the seconds until it ends.
RATE_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the current window (a minute for an API key).",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "Seconds until the current window ends and the count starts again.",
}


def rate_headers(usage):
    return {
        "X-RateLimit-Limit": str(usage["limit"]),
        "X-RateLimit-Remaining": str(max(0, usage["limit"] - usage["count"])),
        "X-RateLimit-Reset": str(max(0, int(usage["time_left"]))),
    }


def with_rate_headers(view):
    """``view`` answering with the rate-limit headers: the key's figures (``ApiKeyAuth``),
    else, for a call that checked no key (the OpenAPI document, the docs page), the
    address's anonymous budget."""

    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        usage = getattr(request, "api_rate", None) or anonymous_usage(request)
        for name, value in rate_headers(usage).items():
            response[name] = value
        return response

    return answer


class ClarionApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """The generated document, with the rate-limit headers on every answer."""
        schema = super().get_openapi_schema(*args, **kwargs)
        schema["components"].setdefault("headers", {}).update(
            {name: {"description": text, "schema": {"type": "integer"}} for name, text in RATE_HEADERS.items()}
        )
        refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_HEADERS}
        for operations in schema["paths"].values():
            for operation in operations.values():
                for answer in operation.get("responses", {}).values():
                    answer.setdefault("headers", {}).update(refs)
        return schema


api = ClarionApi(
    title="Clarion API",
    version="1",
    description=(
        "Upload profiles and events, register app devices, ask API-triggered campaigns to send, and "
        "report pushes rendered, viewed or clicked on the device, and list, read and delete a person's "
        "App Inbox items. "
        "Batches are written whole or not at all. Every answer carries `X-RateLimit-Limit`, "
        "`X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds); over the limit, 429 with `Retry-After`."
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api",
)
# Before the audience's: its GET /profiles/{identity} takes any path, /inbox included.
api.add_router("/v1/", inbox_router)
api.add_router("/v1/", audience_router)
api.add_router("/v1/", campaigns_router)
api.add_router("/v1/", engagement_router)


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
        if index is not None and not field_parts:
            field_parts = loc[: loc.index(index)]  # an item of a list of values: {"to": ["anon:x"]} names "to"
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
        pattern.callback = with_rate_headers(pattern.callback)
        pattern.callback.login_required = False
    return patterns, app_name, namespace
