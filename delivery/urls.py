from django.urls import path

from delivery import views

app_name = "delivery"
urlpatterns = [
    path("system/status/", views.status, name="status"),
]
