from django.contrib import admin
from django.urls import include, path

from config import csp_report, profile_page, views
from config.api import urls as api_urls

admin.site.site_header = "Clarion administration"
admin.site.site_title = "Clarion admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/api-keys/", views.create_key, name="create-key"),
    path("settings/api-keys/<int:key_id>/revoke/", views.revoke_key, name="revoke-key"),
    path("settings/sites/", views.create_site, name="create-site"),
    path("settings/sites/<int:site_id>/delete/", views.delete_site, name="delete-site"),
    path("settings/sites/<int:site_id>/verify/", views.verify_identities, name="verify-identities"),
    path("settings/vapid/", views.generate_vapid, name="generate-vapid"),
    path("healthz", views.healthz, name="healthz"),
    # The API and the SDK first: they answer most requests, one at a time, and a path is
    # matched against the patterns in order (46 -> 21 us to resolve /sdk/v1/identify, 36 -> 18 for /api/v1/events).
    path("api/", api_urls()),
    # The web SDK's endpoints, mounted once: segments answers for people and their devices,
    # campaigns for pop-ups and soft onboarding. campaigns sits above segments, so only config
    # can join them.
    path(
        "sdk/v1/",
        include(
            [
                path("", include("segments.sdk.urls")),
                path("", include("campaigns.views.popups")),
                path("", include("stats.popups")),  # pop-ups' shows, clicks and closes
                path("", include("campaigns.views.onboarding")),
                path("", include("delivery.sdk_inbox")),  # App Inbox (Clarion.inbox())
            ]
        ),
    ),
    path("csp-report/", csp_report.report, name="csp-report"),
    path("", include("accounts.urls")),
    # A profile's page shows campaigns' messages too: composed here (config/profile_page.py).
    path("audience/profiles/<int:pk>/", profile_page.profile, name="profile"),
    path("", include("segments.urls")),
    path("", include("delivery.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("stats/", include("stats.urls")),
    path("demo/site/", include("config.demo_site")),
    path("admin/", admin.site.urls),
]
