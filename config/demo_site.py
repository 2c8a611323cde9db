"""A demo website served by Clarion (/demo/site/) that loads the web SDK.

It stands for a customer's shop: public, and talking to Clarion only through the
SDK, as a real site would. Its service worker is served from /demo/site/ so that
its scope is this page, as a customer serves theirs from their own origin.

It exists only with DEBUG or DEMO_SITE=1: it makes a Site and a VAPID key for
whoever asks, and lets anyone sign in as its demo accounts (a 404 otherwise,
before anything is made).
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from delivery import vapid
from delivery.actions.settings import do_generate_vapid_key
from segments.actions.sites import do_allow_origin, do_create_site
from segments.models import Site

DEMO_SITE_NAME = "Demo site"
PRODUCTS = [
    {"sku": "MUG-01", "name": "Enamel mug", "price": 14.0},
    {"sku": "TEE-02", "name": "Lighthouse T-shirt", "price": 24.0},
    {"sku": "MAP-03", "name": "Coastal map print", "price": 39.0},
]
# The shop's customers a visitor can sign in as (identities in Clarion).
ACCOUNTS = [("ada", "Ada"), ("bob", "Bob"), ("carmen", "Carmen")]


def only_when_enabled(view):
    @wraps(view)
    def enabled_view(request, *args, **kwargs):
        if not settings.DEMO_SITE:
            raise Http404("The demo site is off (DEBUG or DEMO_SITE=1 turns it on).")
        return view(request, *args, **kwargs)

    return enabled_view


@transaction.atomic
def demo_site(origin):
    """The demo Site, with ``origin`` among its allowed origins. Clarion itself makes and
    changes it (no user), through the same actions as Settings, so the audit log says so."""
    site = Site.objects.select_for_update().filter(name=DEMO_SITE_NAME).first()
    if site is None:
        return do_create_site(DEMO_SITE_NAME, [origin], user=None)
    return do_allow_origin(site, origin, user=None)


@login_not_required
@only_when_enabled
def page(request):
    # The page's own origin, as the browser will send it in Origin. The host was
    # checked against ALLOWED_HOSTS, so only Clarion's own names get added.
    site = demo_site(f"{request.scheme}://{request.get_host()}")
    public_key = vapid.current_public_key() or do_generate_vapid_key()[0].public_key
    context = {
        "sdk_options": {
            "siteKey": site.key,
            "vapidPublicKey": public_key,
            "serviceWorker": reverse("demo-site-sw"),
            "apiBase": f"{request.scheme}://{request.get_host()}",
        },
        # Signed here, as a customer's server signs the signed-in user's identity
        # (identityHash): the demo Site verifies identities like any new site.
        "accounts": [
            {"identity": identity, "name": name, "identity_hash": site.identity_hash(identity)}
            for identity, name in ACCOUNTS
        ],
        "products": PRODUCTS,
    }
    return render(request, "demo/site.html", context)


@login_not_required
@only_when_enabled
def service_worker(request):
    with open(finders.find("sdk/clarion-sw.js"), encoding="utf-8") as source:
        response = HttpResponse(source.read(), content_type="application/javascript; charset=utf-8")
    # Let the worker control the demo page whatever URL it is registered from.
    response["Service-Worker-Allowed"] = reverse("demo-site")
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [
    path("", page, name="demo-site"),
    path("sw.js", service_worker, name="demo-site-sw"),
]
