from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        from campaigns import receivers
        from segments.signals import events_recorded

        events_recorded.connect(receivers.queue_live_evaluation, dispatch_uid="campaigns.live")
