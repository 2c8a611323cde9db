"""A campaign's variants: the What step saves them all at once."""

from django.db import transaction

from campaigns.models import Variant

VARIANT_FIELDS = ("name", "property_value", "is_fallback", "share", "content")


@transaction.atomic
def do_save_variants(campaign, variants):
    """Make the campaign's variants exactly ``variants`` (dicts of VARIANT_FIELDS), in
    that order. Rows are updated in place by position, so a row (and what points at
    it, like a test send) is kept while its position exists; extra rows are deleted."""
    existing = {variant.position: variant for variant in campaign.variants.select_for_update()}
    kept = []
    for position, fields in enumerate(variants):
        variant = existing.pop(position, None) or Variant(campaign=campaign, position=position)
        for name in VARIANT_FIELDS:
            setattr(variant, name, fields[name])
        variant.save()
        kept.append(variant)
    Variant.objects.filter(pk__in=[variant.pk for variant in existing.values()]).delete()
    return kept
