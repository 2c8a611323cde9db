from io import StringIO

from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from accounts.roles import role_of


def seed():
    out = StringIO()
    call_command("seed_demo", "--profiles", "0", stdout=out)  # the logins only; segments tests its audience
    return out.getvalue()


def log_in(username, password):
    # The login throttle's backend needs the request (its address) to check the lock.
    return authenticate(RequestFactory().post("/login/"), username=username, password=password)


def printed_password(output):
    return output.split("password for all: ", 1)[1].split(")", 1)[0]


def test_seed_demo_prints_logins_that_work_for_each_role(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    output = seed()
    password = printed_password(output)
    for username, role in [("admin", "Admin"), ("marketer", "Marketer"), ("viewer", "Viewer")]:
        user = log_in(username, password)
        assert user is not None, username
        assert role_of(user) == role
    assert get_user_model().objects.get(username="admin").is_superuser


def test_seed_demo_is_safe_to_run_twice(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = printed_password(seed())
    second = printed_password(seed())
    assert first == second
    assert get_user_model().objects.filter(username__in=["admin", "marketer", "viewer"]).count() == 3
    assert log_in("viewer", second) is not None
