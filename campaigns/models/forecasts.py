from django.db import models

from campaigns.models.campaign import Campaign


class RunForecast(models.Model):
    """The forecast of a run made when its campaign was scheduled (``campaigns/actions/forecast.py``),
    kept so the campaign page can show it beside what the run did. One per campaign and
    planned time, as runs are; ``lines`` is ``Forecast.to_json()``."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="forecasts")
    planned_at = models.DateTimeField()
    made_at = models.DateTimeField()
    lines = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "planned_at"], name="one_forecast_per_run")]

    def __str__(self):
        return f"Forecast of {self.campaign_id} at {self.planned_at:%Y-%m-%d %H:%M}"
