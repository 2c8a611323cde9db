"""POST /sdk/v1/popups: the Web Exit Intent pop-up for the SDK's page (campaigns/popups.py),
from the campaigns of the site whose key the page sends. The SDK's shared checks (CORS, site
key, Origin, rate limit) are segments.sdk.endpoint's. Its reports of what the pop-up did
(``POST /sdk/v1/popups/report``) are stats/popups.py's."""

from typing import Annotated

from django.urls import path
from pydantic import AfterValidator, Field

from campaigns.popups import give_popups
from segments.sdk.endpoint import error, sdk_endpoint
from segments.sdk.schemas import SdkIn


def _web_address(value):
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be the page's http(s) address")
    return value


class PopupsIn(SdkIn):
    url: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_web_address)]
    referrer: str = Field("", max_length=2000)
    pageCount: int = Field(1, ge=1, le=100_000)


@sdk_endpoint(PopupsIn)
def popups(request, data):
    if not data.url.startswith(request.headers["Origin"] + "/") and data.url != request.headers["Origin"]:
        return error(
            400, "The request was not accepted.", [{"field": "url", "reason": "is not on the calling page's origin"}]
        )
    page = {"url": data.url, "referrer": data.referrer, "page_count": data.pageCount}
    user_agent = request.headers.get("User-Agent", "")
    given = give_popups(request.sdk_site, data.clientId, page, browser=data.browser, user_agent=user_agent)
    return {"popups": given}


# Mounted at /sdk/v1/ by config/urls.py, with segments.sdk.urls: public, like the SDK's other endpoints.
urlpatterns = [path("popups", popups, name="sdk-popups")]
