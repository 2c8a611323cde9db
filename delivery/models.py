from django.db import models


class Heartbeat(models.Model):
    """The last time each Celery worker ran the beat-scheduled heartbeat task.

    A fresh row proves the whole chain works: beat scheduled the task, the broker
    carried it, a worker ran it and reached the database. Settings shows these.
    """

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self):
        return self.worker
