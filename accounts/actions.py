from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit, roles


@transaction.atomic
def do_set_role(user, role, *, acting_user):
    """Make ``role`` the user's only role. An Admin cannot demote themselves, so a
    workspace never loses its last way back into Settings by accident."""
    if role not in roles.ROLES:
        raise ValidationError({"role": f"Choose one of {', '.join(roles.ROLES)}."})
    if user.pk == acting_user.pk and role != roles.ADMIN and roles.role_of(user) == roles.ADMIN:
        raise ValidationError({"role": "You cannot remove your own Admin role; ask another Admin."})
    before = roles.role_of(user)
    user.groups.remove(*Group.objects.filter(name__in=roles.ROLES))
    user.groups.add(Group.objects.get(name=role))
    # Admins look after profiles, devices and credentials in the Django admin, which
    # only lets staff in; nobody else needs it.
    user.is_staff = role == roles.ADMIN or user.is_superuser
    user.save(update_fields=["is_staff"])
    if role != before:
        audit.record(acting_user, audit.Verb.CHANGED, user, f"role {before or 'none'} → {role}")
