"""What every SDK endpoint does before and after its action: CORS, body size, JSON,
the site key, the Origin check, the rate limit and validation.

The endpoints are called cross-origin from customers' pages and service workers,
without cookies, so they need no CSRF token and no login; what guards them is the
Origin check and the rate limit (the site key itself is public).
"""

import json
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from accounts.params import client_ip
from accounts.ratelimit import usage as rate_usage
from segments.actions.sites import site_for_key
from segments.schemas import unstorable

# The SDK sends a handful of fields; a body this large is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024


def error(status, detail, errors=None):
    body = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def field_errors(exc):
    return [
        {"field": ".".join(str(part) for part in item["loc"]) or None, "reason": item["msg"]} for item in exc.errors()
    ]


def _refuse_constant(name):
    # Python's json reads NaN and Infinity, which are not JSON and which no
    # database JSON column can store.
    raise ValueError(f"{name} is not valid JSON")


def _with_cors(response, origin):
    # The request's own origin is echoed on every answer, errors included, so the
    # SDK can read why it was refused (an origin missing from the site's list shows
    # as that message, not as an opaque network error). Nothing is shared but the
    # error: a refused origin never gets past the checks, and no cookies are used.
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Retry-After"
    patch_vary_headers(response, ["Origin"])
    return response


def _preflight():
    # The SDK posts text/plain to skip preflights; a page that sends JSON with
    # Content-Type: application/json gets one, answered here (Fetch standard, CORS
    # protocol). The site key is in the body, which a preflight does not carry, so
    # the site's origins are checked on the POST itself.
    response = JsonResponse({}, status=204)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "7200"  # Chromium's upper bound
    return response


def _check(request, schema):
    """(the validated body, None) or (None, an error response)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None, error(400, "Content-Length is not a number.")
    if length > MAX_BODY_BYTES:
        return None, error(413, f"The request body is over {MAX_BODY_BYTES // 1024} KB.")
    try:
        data = json.loads(request.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None, error(400, "The request body is not JSON.")
    if not isinstance(data, dict):
        return None, error(400, "The request body must be a JSON object.")

    site_key = data.get("siteKey")
    if not isinstance(site_key, str) or not site_key:
        return None, error(400, "siteKey is missing.", [{"field": "siteKey", "reason": "Field required"}])
    if problem := unstorable(site_key):  # looked up before the schema checks the rest
        return None, error(400, "The request was not accepted.", [{"field": "siteKey", "reason": problem}])
    site = site_for_key(site_key)
    if site is None:
        return None, error(403, "Unknown site key: copy it from Clarion's Settings page.")
    origin = request.headers.get("Origin", "")
    if not origin:
        return None, error(403, "The request has no Origin header; the SDK must be called from a web page.")
    if not site.allows(origin):
        return None, error(403, f"The origin {origin} is not allowed for this site key; add it in Clarion's Settings.")
    request.sdk_site = site

    # Per site key and client IP (SDK_RATE_LIMIT). One page view makes a few calls
    # (status, identify, some events); a shared office IP makes many.
    usage = rate_usage(request, group="sdk", value=f"{site.key}:{client_ip(request)}", rate=settings.SDK_RATE_LIMIT)
    if usage and usage["should_limit"]:
        retry_after = max(1, usage["time_left"])
        response = error(429, f"Too many requests from this address for this site; retry after {retry_after} s.")
        response["Retry-After"] = str(retry_after)
        return None, response

    try:
        return schema.model_validate(data), None
    except ValidationError as exc:
        return None, error(400, "The request was not accepted.", field_errors(exc))
    except RecursionError:
        return None, error(400, "The request body is nested too deeply.")


def sdk_endpoint(schema):
    """Decorator for an SDK view ``view(request, data)`` that returns a dict to
    answer with (or an error response): the body is validated with ``schema`` after
    the checks above, which leave the site on ``request.sdk_site``."""

    def decorate(view):
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def endpoint(request):
            origin = request.headers.get("Origin", "")
            if request.method == "OPTIONS":
                return _with_cors(_preflight(), origin)
            if request.method != "POST":
                response = error(405, "Use POST.")
                response["Allow"] = "POST, OPTIONS"
                return _with_cors(response, origin)
            data, response = _check(request, schema)
            if response is None:
                answer = view(request, data)
                response = answer if isinstance(answer, JsonResponse) else JsonResponse(answer)
            return _with_cors(response, origin)

        return endpoint

    return decorate
