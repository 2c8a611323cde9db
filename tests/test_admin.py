"""The Django admin has every model, and each of its list pages works."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

OURS = {"accounts", "segments", "delivery", "campaigns", "stats"}


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OURS and m._meta.managed]


def test_every_model_of_ours_is_in_the_admin():
    missing = [m.__name__ for m in our_models() if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_each_admin_list_page_opens_and_searches(admin_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "x"}).status_code == 200


def test_staff_without_a_role_cannot_use_the_admin_for_our_models(client, make_user):
    client.force_login(make_user(None, is_staff=True))
    assert client.get(reverse("admin:delivery_heartbeat_changelist")).status_code == 403
