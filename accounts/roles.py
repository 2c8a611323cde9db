"""The three roles, as Django groups, and what each may do.

The groups are created by a migration (0002_roles). Their permissions are granted
after every migrate by ``sync_role_permissions``, because a later migration of another
app adds models whose permissions must join the roles too ("Admin: everything").
"""

from django.contrib.auth.models import Group, Permission

ADMIN = "Admin"
MARKETER = "Marketer"
VIEWER = "Viewer"
ROLES = (ADMIN, MARKETER, VIEWER)

VIEW_CAMPAIGNS = "accounts.view_campaigns"
MANAGE_CAMPAIGNS = "accounts.manage_campaigns"
MANAGE_SEGMENTS = "accounts.manage_segments"
VIEW_STATS = "accounts.view_stats"
MANAGE_SETTINGS = "accounts.manage_settings"
# The audit log (accounts.audit): everyone may read who changed what; nobody may edit it.
VIEW_AUDIT = "accounts.view_auditentry"

# role -> (capabilities, {app label: "all" model permissions or only "view"})
GRANTS = {
    MARKETER: (
        [VIEW_CAMPAIGNS, MANAGE_CAMPAIGNS, MANAGE_SEGMENTS, VIEW_STATS, VIEW_AUDIT],
        {"segments": "all", "campaigns": "all", "stats": "view"},
    ),
    VIEWER: (
        [VIEW_CAMPAIGNS, VIEW_STATS, VIEW_AUDIT],
        {"campaigns": "view", "stats": "view"},
    ),
}


def permissions_for(role):
    """The permissions a role should hold, as a queryset."""
    if role == ADMIN:
        return Permission.objects.all()
    capabilities, apps = GRANTS[role]
    wanted = Permission.objects.none()
    for name in capabilities:
        app_label, codename = name.split(".")
        wanted |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    for app_label, level in apps.items():
        in_app = Permission.objects.filter(content_type__app_label=app_label)
        wanted |= in_app if level == "all" else in_app.filter(codename__startswith="view_")
    return wanted


def sync_role_permissions(**kwargs):
    """Give each role exactly the permissions of GRANTS (post_migrate handler)."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def role_of(user):
    """The user's role name, the highest if several, or None."""
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in ROLES if role in names), None)
