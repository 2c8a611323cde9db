"""Sites, the websites that run the web SDK: made, deleted and their identity check
switched, each with its audit entry in the same transaction (accounts/audit.py)."""

from django.db import transaction

from accounts import audit
from segments.models import Site


@transaction.atomic
def do_create_site(name, allowed_origins, *, user):
    """A new Site (its key and identity secret are made on save); ``user`` made it, or
    None for Clarion itself (the demo site)."""
    site = Site.objects.create(name=name, allowed_origins=allowed_origins)
    audit.record(user, audit.Verb.CREATED, site, "origins " + ", ".join(site.allowed_origins))
    return site


@transaction.atomic
def do_allow_origin(site, origin, *, user):
    """Add ``origin`` to the site's allowed origins, unless it is there already."""
    site = Site.objects.select_for_update().get(pk=site.pk)
    if not site.allows(origin):
        site.allowed_origins = [*site.allowed_origins, origin]
        site.save(update_fields=["allowed_origins"])
        audit.record(user, audit.Verb.CHANGED, site, f"origin {origin} allowed")
    return site


@transaction.atomic
def do_delete_site(site, *, user):
    """Delete ``site``: pages still carrying its key get 403 from the SDK endpoints."""
    audit.record(user, audit.Verb.DELETED, site)  # before the delete, while the site has its id
    site.delete()


@transaction.atomic
def do_set_identity_verification(site, verify, *, user):
    """Whether identify() on ``site`` must carry identityHash (Site.verify_identity)."""
    site.verify_identity = verify
    site.save(update_fields=["verify_identity"])
    audit.record(user, audit.Verb.CHANGED, site, f"identity verification {'on' if verify else 'off'}")
