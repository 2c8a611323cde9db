from django.urls import path

from campaigns.views import changes, listing, overview, resources, setup, start, what, when, who

app_name = "campaigns"
urlpatterns = [
    path("", listing.campaign_list, name="list"),
    path("new/", start.start, name="new"),
    *listing.urlpatterns,
    *who.urlpatterns,
    *when.urlpatterns,
    *what.urlpatterns,
    *setup.urlpatterns,
    *overview.urlpatterns,
    *changes.urlpatterns,
    *resources.urlpatterns,
]
