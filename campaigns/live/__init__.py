"""Live campaigns: single action, inaction within time, on a date property (issue 7).

How an event becomes a push:

1. ``segments.actions.ingest.record_events`` (the API's ``/api/v1/events`` and the SDK's
   ``/sdk/v1/events``) sends ``events_recorded`` after its commit; ``receivers`` only
   queues ``tasks.evaluate_events`` with the ids.
2. ``triggers.do_evaluate_events`` loads the events, finds the running live campaigns
   whose trigger is one of their names (one query, fresh each time, so a pause or stop
   is seen by the next event), checks the trigger's property filters and the campaign's
   segment for that one profile (``segments.rules.matcher``), and writes one
   ``LiveTrigger`` per campaign and trigger event (unique: once per trigger):
   a single action is sent at once; an inaction window or a date-property send waits
   as ``pending`` until its ``due_at``. An inaction event cancels its person's open
   windows on arrival, and is looked for again when a window comes due.
3. ``sending.do_send_due`` (beat, "check inaction windows", every 30 s) claims the due
   rows under the campaign's row lock and ``select_for_update(skip_locked=True)``, so two
   workers never send one twice, and sends them.

Runs: every evaluation batch that sends (or holds someone out) makes one ``CampaignRun``
(planned at the batch's time, running while its messages go) with its own ``Dispatch``.
A dispatch is done once its rows are sent, so a long-lived one could not take more rows;
one per batch keeps each run's counts in the run history, and the lifecycle code, which
pauses, resumes and stops ``run.dispatch`` for each active run of a campaign, reaches
every live dispatch without knowing about live campaigns. The dispatcher's
``dispatcher.do_complete_finished_runs`` completes a run once its dispatch is done, so only runs
still sending stay running; the campaign itself runs on until it is stopped, reaches its
total cap or its end (``lifecycle.do_complete``).

Limits are applied in ``sending``, under the campaign's row lock (so two batches cannot both take
the last place): the daily limit (people per day in the campaign's time zone), the
total cap ``target_cap`` (reached: the campaign completes), the control group (held out,
recorded as ``ControlMember`` of the batch's run). Frequency caps and DND are the
delivery engine's, passed in the dispatch ``rules``. The variants, limits and control group:
``campaigns.allocation``, shared with scheduled runs.
"""
