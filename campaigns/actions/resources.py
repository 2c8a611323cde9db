"""Saved push contents (``PushResource``): made, changed and deleted here, each change in
the audit log. A campaign that picked a resource holds its own copy, so nothing here
touches a campaign."""

from django.db import transaction

from accounts import audit


@transaction.atomic
def do_save_resource(resource, *, name, content, user):
    """Create ``resource`` (unsaved) or change it to ``name`` and ``content`` (validated by
    ``campaigns.forms.resources.ResourceForm``)."""
    created = resource.pk is None
    changed = [field for field, value in (("name", name), ("content", content)) if getattr(resource, field) != value]
    resource.name, resource.content = name, content
    if created:
        resource.created_by = user if getattr(user, "pk", None) else None
    resource.save()
    if created:
        audit.record(user, audit.Verb.CREATED, resource, resource.get_channel_display())
    elif changed:
        audit.record(user, audit.Verb.CHANGED, resource, audit.fields_changed(changed))
    return resource


@transaction.atomic
def do_delete_resource(resource, *, user):
    audit.record(user, audit.Verb.DELETED, resource)
    resource.delete()
