from django.urls import path

from segments.views import audience
from segments.views import segments as segment_pages

app_name = "segments"
urlpatterns = [
    path("segments/", segment_pages.segment_list, name="list"),
    path("segments/new/", segment_pages.segment_new, name="new"),
    path("segments/<int:pk>/", segment_pages.segment_page, name="segment"),
    path("segments/<int:pk>/delete/", segment_pages.segment_delete, name="delete"),
    path("segments/suggest/", segment_pages.suggest, name="suggest"),
    path("audience/", audience.audience, name="audience"),
    path("audience/import/", audience.import_form, name="import"),
    path("audience/imports/<int:pk>/", audience.import_status, name="import-status"),
    path("audience/export.csv", audience.export, name="export"),
]
