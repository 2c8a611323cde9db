from django.urls import path

from segments import segment_views, views

app_name = "segments"
urlpatterns = [
    path("segments/", segment_views.segment_list, name="list"),
    path("segments/new/", segment_views.segment_new, name="new"),
    path("segments/<int:pk>/", segment_views.segment_page, name="segment"),
    path("segments/<int:pk>/delete/", segment_views.segment_delete, name="delete"),
    path("segments/suggest/", segment_views.suggest, name="suggest"),
    path("audience/", views.audience, name="audience"),
    path("audience/import/", views.import_form, name="import"),
    path("audience/imports/<int:pk>/", views.import_status, name="import-status"),
    path("audience/export.csv", views.export, name="export"),
]
