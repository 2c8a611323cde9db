import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import roles

pytest_plugins = ["tests.browser"]

PASSWORD = "a-long-test-password"


@pytest.fixture
def make_user(db):
    """make_user("Marketer") -> a user holding that role (or none with role=None)."""

    def make(role=None, username=None, **fields):
        username = username or f"{(role or 'nobody').lower()}-{get_user_model().objects.count()}"
        user = get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)
        if role:
            user.groups.add(Group.objects.get(name=role))
            if role == roles.ADMIN:
                user.is_staff = True
                user.save()
        return user

    return make


@pytest.fixture
def client_as(client, make_user):
    """client_as("Viewer") -> the test client, logged in as a new user of that role."""

    def login(role):
        client.force_login(make_user(role))
        return client

    return login


@pytest.fixture
def marketer(client_as):
    """The test client, logged in as a new Marketer."""
    return client_as(roles.MARKETER)


def pytest_report_header(config):
    from django.conf import settings

    return [
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}",
        f"celery broker: {settings.CELERY_BROKER_URL.split('://', 1)[0]}",
    ]
