"""POST /sdk/v1/onboarding and /sdk/v1/onboarding/report: the soft-onboarding banner of a
running "Push permission request" campaign for the SDK's page, and what the person did with
it (campaigns/onboarding.py). The SDK's shared checks (CORS, site key, Origin, rate limit)
are segments.sdk.endpoint's."""

from typing import Literal

from django.urls import path
from pydantic import Field

from campaigns import onboarding
from segments.sdk.endpoint import error, sdk_endpoint
from segments.sdk.schemas import SdkIn


class OnboardingIn(SdkIn):
    # What the browser says of push permission now (the SDK's pushStatus()); recorded, and
    # only "ask" can get a banner.
    status: Literal["ask", "allowed", "blocked", "unsupported"]


class ReportIn(SdkIn):
    prompt: str = Field(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    event: Literal[onboarding.EVENTS]


@sdk_endpoint(OnboardingIn)
def prompt(request, data):
    given = onboarding.give_prompt(
        data.clientId,
        data.status,
        site=request.sdk_site,
        browser=data.browser,
        user_agent=request.headers.get("User-Agent", ""),
    )
    return {"prompt": given}


@sdk_endpoint(ReportIn)
def report(request, data):
    try:
        recorded = onboarding.record(data.clientId, data.prompt, data.event)
    except onboarding.UnknownPrompt:
        return error(404, "No such prompt was given to this browser.", [{"field": "prompt", "reason": "unknown"}])
    except onboarding.NotSo as refusal:
        return error(409, f"Not recorded: {refusal}.", [{"field": "event", "reason": str(refusal)}])
    return {"recorded": recorded}


# Mounted at /sdk/v1/ by config/urls.py, with segments.sdk.urls: public, like the SDK's other endpoints.
urlpatterns = [
    path("onboarding", prompt, name="sdk-onboarding"),
    path("onboarding/report", report, name="sdk-onboarding-report"),
]
