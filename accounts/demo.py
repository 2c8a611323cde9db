"""Demo logins for the embedded run mode, one per role, sharing one password.

The password is generated once and kept in var/demo-login.json, so running
``make run`` again prints the same login instead of changing it under the user.
"""

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import roles

DEMO_USERS = [
    ("admin", roles.ADMIN),
    ("marketer", roles.MARKETER),
    ("viewer", roles.VIEWER),
]


def demo_password():
    path = settings.VAR_DIR / "demo-login.json"
    if path.exists():
        return json.loads(path.read_text())["password"]
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"password": password}))
    path.chmod(0o600)
    return password


def seed(stdout, **options):
    password = demo_password()
    User = get_user_model()
    for username, role in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_superuser = role == roles.ADMIN
        user.is_staff = role == roles.ADMIN
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
    stdout.write(f"Demo logins (password for all: {password}):")
    for username, role in DEMO_USERS:
        stdout.write(f"  {username:<9} {role}")
