"""What segments tells the apps above it, without importing them (DESIGN.md: a lower
app never imports a higher one; the higher app connects a receiver).

``events_recorded`` is sent once the transaction that stored events has committed, with
``event_ids`` (a list of Event ids). Live campaigns (campaigns) and engagement tracking
(delivery / stats) connect to it in their ``AppConfig.ready``; a receiver should only
queue work (a Celery task taking the ids), because it runs inside the request that
recorded the events.
"""

from django.dispatch import Signal

events_recorded = Signal()
