"""The events roll-up: how many events of each name each profile had on each UTC day,
for the events up to a watermark (segments/actions/rollup.py keeps both, PostgreSQL only)."""

from django.db import models

from segments.models.audience import Profile


class EventDay(models.Model):
    """``count`` events named ``name`` that ``profile`` had on the UTC ``day``, among the
    events with an id up to ``EventRollup.rolled_through``. Written set-based by the
    roll-up task; a move or delete of rolled events adjusts it in the same statement
    (a trigger on segments_event, migration 0009), so it stays exact."""

    # No foreign key constraint and no cascade: the rows follow the events (the trigger
    # subtracts the events a profile's deletion deletes), and deleting a profile costs
    # no extra statement.
    profile = models.ForeignKey(
        Profile, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    name = models.CharField(max_length=200)
    day = models.DateField()
    count = models.IntegerField()

    class Meta:
        constraints = [
            # "did X in these days": by name and day, then the profile, counts in the index.
            models.UniqueConstraint(
                fields=["name", "day", "profile"], include=["count"], name="segments_eventday_name_day_uniq"
            ),
        ]
        indexes = [
            # One person's count of X over days, from the index alone.
            models.Index(fields=["profile", "name", "day"], include=["count"], name="segments_eventday_profile_idx"),
        ]

    def __str__(self):
        return f"{self.count} x {self.name} on {self.day}"


class EventRollup(models.Model):
    """One row: the events with an id up to ``rolled_through`` are in EventDay."""

    rolled_through = models.BigIntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"events rolled up through id {self.rolled_through}"
