from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        # Importing the tasks module registers live campaigns' tasks with the worker
        # (autodiscovery only finds campaigns/tasks.py).
        from campaigns.live import receivers, tasks  # noqa: F401
        from segments.signals import events_recorded

        events_recorded.connect(receivers.queue_live_evaluation, dispatch_uid="campaigns.live")
