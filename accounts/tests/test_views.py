import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import roles
from accounts.roles import role_of
from conftest import PASSWORD


def test_logging_in_opens_the_dashboard(client, make_user):
    make_user(roles.MARKETER, username="mia")
    response = client.post("/login/", {"username": "mia", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Log out" in response.content


def test_a_wrong_password_says_so_and_keeps_you_out(client, make_user):
    make_user(roles.MARKETER, username="mia")
    response = client.post("/login/", {"username": "mia", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert client.get("/").status_code == 302


def test_login_returns_to_the_page_asked_for(client, make_user):
    make_user(roles.MARKETER, username="mia")
    response = client.post("/login/?next=/segments/", {"username": "mia", "password": PASSWORD, "next": "/segments/"})
    assert response.url == "/segments/"


def test_logging_out_ends_the_session(client_as):
    client = client_as(roles.VIEWER)
    assert client.post("/logout/").url == "/login/"
    assert client.get("/").status_code == 302


def test_an_admin_changes_a_role_with_htmx(client_as, make_user):
    client = client_as(roles.ADMIN)
    user = make_user(roles.VIEWER)
    response = client.post(f"/settings/users/{user.pk}/role/", {"role": roles.MARKETER}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'<tr id="user-' in response.content
    user.refresh_from_db()
    assert role_of(user) == roles.MARKETER
    assert not user.is_staff


def test_promoting_to_admin_opens_the_django_admin(client_as, make_user):
    user = make_user(roles.MARKETER)
    client_as(roles.ADMIN).post(f"/settings/users/{user.pk}/role/", {"role": roles.ADMIN})
    user.refresh_from_db()
    assert user.is_staff
    assert role_of(user) == roles.ADMIN


def test_an_unknown_role_is_refused_next_to_the_select(client_as, make_user):
    user = make_user(roles.VIEWER)
    response = client_as(roles.ADMIN).post(f"/settings/users/{user.pk}/role/", {"role": "Owner"})
    assert response.status_code == 422
    assert b"Select a valid choice" in response.content
    assert role_of(user) == roles.VIEWER


def test_an_admin_cannot_demote_themselves(client, make_user):
    admin = make_user(roles.ADMIN)
    client.force_login(admin)
    response = client.post(f"/settings/users/{admin.pk}/role/", {"role": roles.VIEWER})
    assert response.status_code == 422
    assert b"cannot remove your own Admin role" in response.content
    assert role_of(admin) == roles.ADMIN


@pytest.mark.parametrize("role", [roles.MARKETER, roles.VIEWER])
def test_only_admins_change_roles(client_as, make_user, role):
    target = make_user(roles.VIEWER)
    assert client_as(role).post(f"/settings/users/{target.pk}/role/", {"role": roles.ADMIN}).status_code == 403
    assert role_of(target) == roles.VIEWER


def test_changing_a_role_needs_the_csrf_token(make_user):
    admin, target = make_user(roles.ADMIN), make_user(roles.VIEWER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    page = client.get("/settings/")
    token = page.context["csrf_token"]
    url = f"/settings/users/{target.pk}/role/"
    assert client.post(url, {"role": roles.MARKETER}).status_code == 403
    assert client.post(url, {"role": roles.MARKETER}, headers={"X-CSRFToken": str(token)}).status_code == 200


def test_the_settings_page_lists_users_with_their_roles(client_as, make_user):
    make_user(roles.VIEWER, username="vera")
    response = client_as(roles.ADMIN).get("/settings/")
    rows = {row["user"].username: row["role"] for row in response.context["rows"]}
    assert rows["vera"] == roles.VIEWER
    assert get_user_model().objects.count() == len(rows)
