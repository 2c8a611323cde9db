"""The web SDK's endpoints (/sdk/v1/): publishable site key, Origin check, rate limit."""

from django.urls import path

from segments.sdk import views

app_name = "sdk"
urlpatterns = [
    path("identify", views.identify, name="identify"),
    path("events", views.events, name="events"),
    path("subscriptions", views.subscriptions, name="subscriptions"),
    path("status", views.status, name="status"),
    path("engagements", views.engagements, name="engagements"),
]
