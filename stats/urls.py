from django.urls import path

from stats import views

app_name = "stats"
urlpatterns = [
    path("", views.index, name="index"),
    path("glossary/", views.glossary, name="glossary"),
    path("campaigns/<int:pk>/", views.campaign_stats, name="campaign"),
    path("campaigns/<int:pk>/<slug:table>.csv", views.campaign_csv, name="csv"),
    path("r/<str:token>", views.click, name="click"),
]
