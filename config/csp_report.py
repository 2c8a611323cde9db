"""Where browsers report what the Content-Security-Policy refused (its ``report-uri``).

A report means a page of ours tried to run or load something the policy forbids: a
template that grew an inline script, or markup someone injected. Anyone can post here,
so the body is bounded, each address is rate-limited, and a report becomes one log line
of a few short fields; nothing is stored or echoed back.
"""

import json
import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage

from accounts.params import client_ip

# A browser's report is well under 2 KB (CSP Level 2, section 5.4: a few URLs and names).
MAX_BODY_BYTES = 8 * 1024
# One page that breaks the policy reports each refusal: a few dozen a minute is a page
# view, more is someone filling the log.
RATE = "60/m"
# What the log line keeps, each cut to FIELD_CHARS; the policy itself ("original-policy")
# is ours and long, so it is left out.
FIELDS = (
    "document-uri",
    "effective-directive",
    "violated-directive",
    "blocked-uri",
    "source-file",
    "line-number",
    "column-number",
    "script-sample",
)
FIELD_CHARS = 200

logger = logging.getLogger("clarion.csp")


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _field(value):
    # Only strings and numbers; repr() in the log line keeps a newline in a forged
    # value from starting a line of its own.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)[:FIELD_CHARS]


def _address(group, request):
    return client_ip(request)


def _refuse(status, detail):
    return JsonResponse({"detail": detail}, status=status)


@csrf_exempt  # browsers post reports without our CSRF token
@login_not_required
def report(request):
    if request.method != "POST":
        response = _refuse(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    usage = get_usage(request, group="csp-report", key=_address, rate=RATE, increment=True)
    if usage and usage["should_limit"]:
        retry_after = max(1, usage["time_left"])
        response = _refuse(429, f"Too many reports from this address; retry after {retry_after} s.")
        response["Retry-After"] = str(retry_after)
        return response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "Content-Length is not a number.")
    if length > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:  # a chunked body has no length
        return _refuse(413, f"The report is too large (over {MAX_BODY_BYTES // 1024} KB).")
    try:
        data = json.loads(request.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return _refuse(400, "The body is not JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("csp-report"), dict):
        return _refuse(400, 'The body must be {"csp-report": {...}}: csp-report is missing or not an object.')
    fields = data["csp-report"]
    logger.warning(
        "Content-Security-Policy violation from %s: %s",
        client_ip(request),
        " ".join(f"{name}={_field(fields.get(name))!r}" for name in FIELDS),
    )
    return HttpResponse(status=204)
