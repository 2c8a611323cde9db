from django.urls import path

from delivery import views

app_name = "delivery"
urlpatterns = [
    path("system/status/", views.status, name="status"),
    path("settings/delivery/", views.delivery_settings, name="settings"),
    path("settings/delivery/throttle-hint/", views.throttle_hint, name="throttle-hint"),
    path("settings/delivery/limits/", views.save_limits, name="save-limits"),
    path("settings/delivery/fcm/", views.save_fcm, name="save-fcm"),
    path("settings/delivery/fcm/remove/", views.remove_fcm, name="remove-fcm"),
    path("settings/delivery/apns/", views.save_apns, name="save-apns"),
    path("settings/delivery/apns/remove/", views.remove_apns, name="remove-apns"),
]
