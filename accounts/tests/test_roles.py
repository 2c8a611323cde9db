from django.contrib.auth.models import Group, Permission

from accounts import roles


def perms(role):
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_three_roles_exist_after_migrate(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admin", "Marketer", "Viewer"}


def test_admin_holds_every_permission(db):
    assert len(perms(roles.ADMIN)) == Permission.objects.count()


def test_marketer_manages_segments_and_campaigns_but_not_settings(db):
    granted = perms(roles.MARKETER)
    assert {roles.MANAGE_SEGMENTS, roles.MANAGE_CAMPAIGNS, roles.VIEW_CAMPAIGNS, roles.VIEW_STATS} <= granted
    assert roles.MANAGE_SETTINGS not in granted
    assert not any(name.startswith(("auth.", "django_celery_beat.", "delivery.")) for name in granted)


def test_viewer_only_reads_campaigns_stats_and_the_audit_log(db):
    granted = perms(roles.VIEWER)
    assert {roles.VIEW_CAMPAIGNS, roles.VIEW_STATS, roles.VIEW_AUDIT} <= granted
    assert "campaigns.view_campaign" in granted
    others = granted - {roles.VIEW_CAMPAIGNS, roles.VIEW_STATS, roles.VIEW_AUDIT}
    # Model permissions: only "view", and only of campaigns and stats.
    assert all(name.startswith(("campaigns.view_", "stats.view_")) for name in others), others


def test_a_new_models_permissions_join_the_roles_on_the_next_sync(db):
    group = Group.objects.get(name=roles.MARKETER)
    group.permissions.clear()
    roles.sync_role_permissions()
    assert roles.MANAGE_SEGMENTS in perms(roles.MARKETER)


def test_role_of_names_the_highest_role(make_user):
    user = make_user(roles.VIEWER)
    user.groups.add(Group.objects.get(name=roles.MARKETER))
    assert roles.role_of(user) == roles.MARKETER
    assert roles.role_of(make_user(None)) is None


def test_every_role_reads_the_audit_log_and_none_may_write_it_but_admin_by_permission(db):
    for role in (roles.MARKETER, roles.VIEWER):
        granted = perms(role)
        assert roles.VIEW_AUDIT in granted
        assert not {"accounts.add_auditentry", "accounts.change_auditentry", "accounts.delete_auditentry"} & granted
