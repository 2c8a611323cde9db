from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = "Stats"

    def ready(self):
        from segments.signals import events_recorded
        from stats.signals import queue_tracking

        events_recorded.connect(queue_tracking, dispatch_uid="stats.track_events")
