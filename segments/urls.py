from django.urls import path

from segments import views

app_name = "segments"
urlpatterns = [
    path("segments/", views.segment_list, name="list"),
    path("audience/", views.audience, name="audience"),
    path("audience/profiles/<int:pk>/", views.profile, name="profile"),
    path("audience/import/", views.import_form, name="import"),
    path("audience/imports/<int:pk>/", views.import_status, name="import-status"),
    path("audience/export.csv", views.export, name="export"),
]
