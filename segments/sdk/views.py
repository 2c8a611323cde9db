"""The web SDK's endpoints. Each parses its body (endpoint.sdk_endpoint does the
checks every one shares), calls one action and answers with JSON."""

from segments.actions import sdk
from segments.actions.devices import NotVouched, report_push_status, save_subscription
from segments.sdk.endpoint import error, sdk_endpoint
from segments.sdk.schemas import EngagementIn, IdentifyIn, StatusIn, SubscriptionIn, TrackIn


def _client(request, data):
    return {"browser": data.browser, "user_agent": request.headers.get("User-Agent", "")}


@sdk_endpoint(IdentifyIn)
def identify(request, data):
    site = request.sdk_site
    vouched = site.vouches_for(data.identity, data.identityHash)
    # A hash that is sent must be right, whether or not the site requires one.
    if not vouched and data.identityHash:
        return error(403, "identityHash does not match this identity: your server must sign it with the site's secret.")
    if not vouched and site.verify_identity:
        return error(403, "identityHash is needed: this site verifies identities, so your server signs each one.")
    try:
        device = sdk.identify_browser(
            data.clientId, data.identity, data.profile, vouched=vouched, **_client(request, data)
        )
    except NotVouched as refusal:
        return error(403, str(refusal))
    return {"push_status": device.push_status}


@sdk_endpoint(TrackIn)
def events(request, data):
    sdk.track(data.clientId, data.name, data.properties, **_client(request, data))
    return {"recorded": True}


@sdk_endpoint(SubscriptionIn)
def subscriptions(request, data):
    subscription = data.subscription
    device = save_subscription(
        data.clientId,
        subscription.endpoint,
        subscription.keys.p256dh,
        subscription.keys.auth,
        categories=data.categories,
        **_client(request, data),
    )
    return {"push_status": device.push_status}


@sdk_endpoint(StatusIn)
def status(request, data):
    device = report_push_status(data.clientId, data.status, **_client(request, data))
    return {"push_status": device.push_status}


@sdk_endpoint(EngagementIn)
def engagements(request, data):
    recorded = sdk.record_engagement(
        data.clientId, data.message_id, data.kind, action=data.action, **_client(request, data)
    )
    return {"recorded": recorded}
