from django.db import models


class Capability(models.Model):
    """Holds the dashboard's permissions that belong to no single model.

    It has no table (``managed = False``); Django still creates its permissions, which
    the roles are granted (accounts/roles.py) and views check with
    ``@requires(...)``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_campaigns", "Can read campaigns"),
            ("manage_campaigns", "Can create, edit and schedule campaigns"),
            ("manage_segments", "Can build segments and browse the audience"),
            ("view_stats", "Can read stats"),
            ("manage_settings", "Can change settings, users and credentials"),
        ]

    def __str__(self):
        return "capability"
