"""The web SDK's endpoints. Each parses its body (endpoint.sdk_endpoint does the
checks every one shares), calls one action and answers with JSON."""

from segments.actions import sdk
from segments.actions.devices import report_push_status, save_subscription
from segments.sdk.endpoint import error, sdk_endpoint
from segments.sdk.schemas import EngagementIn, IdentifyIn, StatusIn, SubscriptionIn, TrackIn


def _client(request, data):
    return {"browser": data.browser, "user_agent": request.headers.get("User-Agent", "")}


@sdk_endpoint(IdentifyIn)
def identify(request, data):
    if not request.sdk_site.vouches_for(data.identity, data.identityHash):
        return error(403, "identityHash does not match this identity: your server must sign it with the site's secret.")
    device = sdk.identify_browser(data.clientId, data.identity, data.profile, **_client(request, data))
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
