from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Audience and segments"

    def ready(self):
        from segments.actions.keys import forget_api_key
        from segments.actions.sites import forget_site
        from segments.models import ApiKey, Site

        # The SDK's site and the API's key are cached per request (actions/sites.py, keys.py).
        for signal in (post_save, post_delete):
            signal.connect(forget_site, sender=Site, dispatch_uid="segments.forget_site")
            signal.connect(forget_api_key, sender=ApiKey, dispatch_uid="segments.forget_api_key")
