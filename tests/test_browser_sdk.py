"""The web SDK on the demo site, in headless Chromium: permission status, the
subscription reaching the profile, and a browser changing hands.

Everything is the browser's own (permissions, the service worker, fetch and
CORS) except PushManager.prototype.subscribe: the browser's push service cannot
be reached from our machines, so the page gets a subscription of the same shape
from a stand-in, which also notes the key it was asked to subscribe with.
"""

import json

import pytest
from playwright.sync_api import expect

from delivery.vapid import current_public_key
from segments.models import Device, Event, Profile, Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A push service's URL: the SDK refuses hosts off WEBPUSH_ALLOWED_HOSTS (segments/pushhosts.py).
ENDPOINT = "https://fcm.googleapis.com/fcm/send/demo-browser"


@pytest.fixture(autouse=True)
def demo_site_on(settings):
    settings.DEMO_SITE = True  # production settings (DEBUG=0) hide the demo site


STAND_IN_SUBSCRIBE = """
(() => {
  const b64url = (bytes) =>
    btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  window.subscribeCalls = [];
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.subscribeCalls.push({ userVisibleOnly: options.userVisibleOnly, applicationServerKey: b64url(key) });
    const endpoint = "__ENDPOINT__";
    // A P-256 public point (0x04 then 64 bytes) and a 16-byte secret, as browsers make.
    const keys = { p256dh: b64url([4, ...Array(64).keys()]), auth: b64url([...Array(16).keys()]) };
    return {
      endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: key.buffer },
      toJSON: () => ({ endpoint, expirationTime: null, keys }),
      unsubscribe: async () => true,
    };
  };
})();
""".replace("__ENDPOINT__", ENDPOINT)


def open_demo(page):
    page.goto("/demo/site/")
    return page.locator("#push-status")


def deny_notifications(page, origin):
    """The state a person leaves by clicking Block on the permission prompt."""
    target = page.context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
    page.context.browser.new_browser_cdp_session().send(
        "Browser.setPermission",
        {
            "permission": {"name": "notifications"},
            "setting": "denied",
            "origin": origin,
            "browserContextId": target["browserContextId"],
        },
    )


def identify(page, identity):
    page.get_by_label("Identify as").select_option(identity)
    page.get_by_role("button", name="Identify").click()
    expect(page.locator("#identified-as")).to_have_text(identity)


def subscribe(page):
    page.context.grant_permissions(["notifications"])
    page.add_init_script(STAND_IN_SUBSCRIBE)
    expect(open_demo(page)).to_have_text("Allowed")
    identify(page, "ada")
    page.get_by_role("button", name="Enable notifications").click()
    expect(page.locator("#log")).to_contain_text("request push: ok")


def test_a_browser_not_asked_yet_reports_ask(page):
    expect(open_demo(page)).to_have_text("Ask")
    device = Device.objects.get()
    assert device.push_status == Device.PushStatus.ASK
    assert device.browser == Device.Browser.CHROME
    assert device.profile.identity.startswith("anon:")


def test_a_browser_that_blocked_notifications_reports_blocked(page, live_server):
    deny_notifications(page, live_server.url)
    expect(open_demo(page)).to_have_text("Blocked")
    assert Device.objects.get().push_status == Device.PushStatus.BLOCKED


def test_a_browser_that_allowed_notifications_reports_allowed(page):
    page.context.grant_permissions(["notifications"])
    expect(open_demo(page)).to_have_text("Allowed")
    # Allowed sticks on the device once there is a subscription to send to.
    assert Device.objects.get().push_status == Device.PushStatus.ASK


def test_with_permission_granted_the_subscription_reaches_the_profiles_device(page):
    subscribe(page)
    device = Profile.objects.get(identity="ada").devices.get()
    assert device.push_status == Device.PushStatus.ALLOWED
    assert device.endpoint == ENDPOINT
    assert device.p256dh and device.auth
    assert device.categories == ["deals"]
    # Subscribed with the site's VAPID key, through the real service worker,
    # which was told whom to report for.
    assert page.evaluate("window.subscribeCalls") == [
        {"userVisibleOnly": True, "applicationServerKey": current_public_key()}
    ]
    worker_url = page.evaluate("navigator.serviceWorker.getRegistration('/demo/site/').then((r) => r.active.scriptURL)")
    site = Site.objects.get(name="Demo site")
    assert "/demo/site/sw.js?" in worker_url
    assert f"siteKey={site.key}" in worker_url
    assert f"clientId={device.client_id}" in worker_url


def test_a_second_identify_moves_the_device_and_suspends_the_first_profiles(page):
    subscribe(page)
    identify(page, "bob")
    bob_device = Profile.objects.get(identity="bob").devices.get()
    assert bob_device.push_status == Device.PushStatus.ALLOWED
    assert bob_device.endpoint == ENDPOINT
    ada_devices = Profile.objects.get(identity="ada").devices.all()
    assert [(d.push_status, d.endpoint) for d in ada_devices] == [(Device.PushStatus.SUSPENDED, "")]


def expect_soon(page, condition, seconds=5):
    """Wait for what the service worker does in the background to reach the database."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        page.wait_for_timeout(50)
    assert condition()


def push(page, origin, payload):
    """Have the browser deliver a push message to the demo's service worker, as if
    its push service had sent it (DevTools protocol, ServiceWorker domain)."""
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => navigator.serviceWorker.getRegistration('/demo/site/').then((r) => !!r.active)")
    page.wait_for_timeout(100)  # the enable event carries the registrations
    (registration,) = [r for r in registrations if not r["isDeleted"]]
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration["registrationId"], "data": json.dumps(payload)},
    )


def shown_notifications(page):
    return page.evaluate(
        """navigator.serviceWorker.getRegistration('/demo/site/')
             .then((r) => r.getNotifications())
             .then((all) => all.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url})))"""
    )


def test_a_push_is_shown_once_per_tag_and_reported_viewed_once(page, live_server):
    subscribe(page)
    payload = {
        "title": "Back in stock",
        "body": "The enamel mug is back.",
        "tag": "message-7",
        "actions": [{"action": "buy", "title": "Buy now", "url": "/demo/site/?sku=MUG-01"}],
        "data": {"url": "/demo/site/?from=push", "message_id": 7},
    }
    push(page, live_server.url, payload)
    push(page, live_server.url, payload)  # delivered again after a lost acknowledgement
    viewed = Event.objects.filter(name="Notification Viewed")
    expect_soon(page, lambda: viewed.exists())
    page.wait_for_timeout(500)  # time for the second delivery's report
    assert shown_notifications(page) == [
        {
            "title": "Back in stock",
            "body": "The enamel mug is back.",
            "tag": "message-7",
            "url": "/demo/site/?from=push",
        }
    ]
    assert viewed.count() == 1
    assert viewed.get().profile.identity == "ada"
    assert viewed.get().properties == {"message_id": "7"}


def test_a_click_on_a_button_is_reported_with_its_action(page, live_server):
    subscribe(page)
    push(
        page,
        live_server.url,
        {"title": "Sale", "actions": [{"action": "buy", "title": "Buy"}], "data": {"message_id": 8}},
    )
    expect_soon(page, lambda: Event.objects.filter(name="Notification Viewed").exists())
    # Headless Chromium has no notification to click, so the click is dispatched in
    # the worker. The browser refuses waitUntil() and openWindow() for an event it
    # did not make itself, so this covers the report, not opening the deep link.
    (worker,) = page.context.service_workers
    worker.evaluate(
        """async () => {
             const [notification] = await self.registration.getNotifications();
             self.dispatchEvent(new NotificationEvent("notificationclick", {notification, action: "buy"}));
           }"""
    )
    clicked = Event.objects.filter(name="Notification Clicked")
    expect_soon(page, lambda: clicked.exists())
    assert clicked.get().properties == {"message_id": "8", "action": "buy"}


def test_the_on_site_part_is_fetched_only_by_a_page_that_turns_it_on(page):
    # clarion.js fetches clarion-onsite.js (pop-ups, the onboarding banner) from beside
    # itself for init({popups}) or init({onboarding}) only: here the demo shop's init
    # without either, then the shop as it is (both on).
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.route(
        "**/static/demo/site.js",
        lambda route: route.fulfill(
            content_type="text/javascript",
            body='Clarion.init(JSON.parse(document.getElementById("clarion-options").textContent));'
            "Clarion.pushStatus().then((status) => { document.body.dataset.reported = status; });",
        ),
    )
    page.goto("/demo/site/")
    expect(page.locator("body[data-reported]")).to_have_attribute("data-reported", "ask")
    assert any(url.endswith("/sdk/v1/status") for url in fetched)
    assert not any("clarion-onsite" in url for url in fetched)

    page.unroute("**/static/demo/site.js")
    with page.expect_request("**/static/sdk/clarion-onsite.js"):
        page.goto("/demo/site/")
