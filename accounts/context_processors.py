from django.urls import reverse

from accounts import roles

# (label, url name, permission needed, url prefix that marks it active)
NAVIGATION = [
    ("Campaigns", "campaigns:list", roles.VIEW_CAMPAIGNS, "/campaigns/"),
    ("Segments", "segments:list", roles.MANAGE_SEGMENTS, "/segments/"),
    ("Audience", "segments:audience", roles.MANAGE_SEGMENTS, "/audience/"),
    ("Stats", "stats:index", roles.VIEW_STATS, "/stats/"),
    ("Settings", "settings", roles.MANAGE_SETTINGS, "/settings/"),
]


def navigation(request):
    """The dashboard's navigation: only the sections the user's role may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        {"label": label, "url": reverse(name), "active": request.path.startswith(prefix)}
        for label, name, permission, prefix in NAVIGATION
        if user.has_perm(permission)
    ]
    return {"nav_items": items, "user_role": roles.role_of(user) or ("Superuser" if user.is_superuser else None)}
