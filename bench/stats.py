"""Milliseconds to serve a campaign's stats page at a million messages, next to the naive way.

Builds, in its own PostgreSQL database, one completed A/B campaign whose run sent
1,000,000 messages (250,000 profiles with four web devices each; about 96 % delivered,
3 % refused with provider codes, 1 % dropped, spread over seven days) with 100,000
engagement events (80,000 "Notification Viewed", 20,000 "Notification Clicked") stored as
events and on their messages, 5,000 conversions and a 10,000-profile control group, all
with INSERT … SELECT generate_series (seconds, not minutes).

Then it times:

- tracking on engagement events for messages not viewed yet (four views to one click): the
  batch path (``do_track_events``, a fixed few statements per batch) on ``--tracking-events``
  (10,000) in calls of ``--tracking-batch`` (1,000, the most one API request hands over),
  then the per-event way it replaced (three statements an event, kept here only) on
  ``--per-event-sample`` (2,000) more: events/s for both;
- the roll-up (``do_roll_up``) of the million messages, twice (the second must find nothing
  to do) and once forced (what a dispatch still sending costs each minute);
- the stats page (``GET /stats/campaigns/<id>/`` through Django's test client, a Viewer
  logged in, template rendered) ``--runs`` times after a warm-up: the median;
- the naive way in the same run: the page's numbers (totals, day trend, variants, errors)
  aggregated from the Message rows on every request, without the template: the median.

    .venv/bin/python bench/stats.py [--runs 20] [--messages 1000000]

The database ``clarion_bench_stats`` on the PostgreSQL server of ``DATABASE_URL`` (default
postgres@127.0.0.1:5432) is dropped and made again on every run. The last line is
key=value pairs.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from throwaway import recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "clarion_bench_stats"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed page requests per way, after one warm-up")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--engagements", type=int, default=100_000)
    parser.add_argument("--tracking-events", type=int, default=10_000, help="engagement events for the batch path")
    parser.add_argument("--tracking-batch", type=int, default=1_000, help="events a call (the API takes 1,000)")
    parser.add_argument("--per-event-sample", type=int, default=2_000, help="engagement events the per-event way")
    args = parser.parse_args()

    server = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if server.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/stats.py measures PostgreSQL: DATABASE_URL must be postgres://… (or unset)")
    database_url = recreate_database(server, DATABASE)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            # The test suite's settings: production's (DEBUG off) with static files served from the
            # apps' folders (no collectstatic) and the test client's host allowed.
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    campaign, run = build(args.messages, args.engagements)
    print(
        f"built {args.messages:,} messages, {args.engagements:,} engagement events, conversions and a control group"
        f" in {time.perf_counter() - started:.1f} s"
    )
    figures = {"messages": args.messages, "engagement_events": args.engagements}
    figures |= time_tracking(run, args.tracking_events, args.tracking_batch, args.per_event_sample)
    figures |= time_roll_up()
    page_ms, naive_ms, same = time_pages(campaign, args.runs)
    figures |= {"stats_page_median_ms": page_ms, "naive_median_ms": naive_ms, "same_numbers": same}
    print(
        f"tracking: {figures['tracking_events_per_s']:,.0f} engagement events/s in batches of {args.tracking_batch:,}"
        f" (a few statements a batch); {figures['per_event_events_per_s']:,.0f}/s one by one (three statements an"
        f" event, on {figures['per_event_events']:,}): {figures['tracking_speedup']}x"
    )
    print(f"roll-up of every message: {figures['roll_up_s']:.2f} s; a second pass recomputed {figures['second_pass']}")
    print(f"stats page (roll-ups, rendered): median {page_ms:.1f} ms over {args.runs} requests")
    print(f"naive (aggregating messages per request, not rendered): median {naive_ms:.1f} ms")
    print(f"speed-up: {naive_ms / page_ms:.0f}x; both ways give the same totals: {same}")
    print(" ".join(f"{key}={_fmt(value)}" for key, value in figures.items()))


def _fmt(value):
    return f"{value:.1f}" if isinstance(value, float) else str(value).lower()


def build(messages, engagements):
    """The campaign, its run and everything under it, written by the database itself."""
    from django.db import connection

    from campaigns.models import Campaign, CampaignRun, Variant
    from delivery.models import Dispatch

    campaign = Campaign.objects.create(
        name="Bench: spring sale",
        channel=Campaign.Channel.WEB_PUSH,
        kind=Campaign.Kind.ONE_TIME,
        status=Campaign.Status.COMPLETED,
        message_type=Campaign.MessageType.AB,
        goal_event="Charged",
        goal_window_minutes=24 * 60,
        revenue_property="amount",
    )
    for position, name in enumerate("AB"):
        Variant.objects.create(campaign=campaign, position=position, name=name, content={"title": name, "body": "x"})
    dispatch = Dispatch.objects.create(
        channel=Dispatch.Channel.WEB_PUSH,
        label="bench",
        contents={"A": {}, "B": {}},
        status=Dispatch.Status.DONE,
        started_at=T0,
        finished_at=T0 + timedelta(days=7),
    )
    run = CampaignRun.objects.create(
        campaign=campaign,
        planned_at=T0,
        status=CampaignRun.Status.COMPLETED,
        dispatch=dispatch,
        qualified=messages // 4 + 10_000,
        started_at=T0,
        finished_at=T0 + timedelta(days=7),
        winner="B",
    )
    profiles = messages // 4
    views, clicks = engagements * 4 // 5, engagements // 5
    params = {"t0": T0, "dispatch": dispatch.pk, "campaign": campaign.pk, "run": run.pk}
    params |= {"profiles": profiles, "profiles_and_control": profiles + 10_000, "messages": messages}
    params |= {"views": views, "clicks": clicks}
    # psycopg placeholders: a literal modulo is written %%.
    statements = [
        # Profiles, then four web devices each.
        """INSERT INTO segments_profile (identity, name, email, phone, properties, gender, country, region, city,
               timezone, language, email_unsubscribed, sms_unsubscribed, is_test, created_at, updated_at)
            SELECT 'bench-' || i, '', '', '', '{}', '', '', '', '', '', '', false, false, false, %(t0)s, %(t0)s
            FROM generate_series(1, %(profiles_and_control)s) AS i""",
        """INSERT INTO segments_device (profile_id, platform, browser, client_id, endpoint, p256dh, auth, token,
               push_status, categories, app_version, make, model, os_version, sdk_version, user_agent, created_at)
            SELECT p.id, 'web', 'chrome', '', 'https://push.example.com/' || p.id || '-' || k, '', '', '',
                   'allowed', '[]', '', '', '', '', '', '', %(t0)s
            FROM (SELECT id FROM segments_profile ORDER BY id LIMIT %(profiles)s) AS p, generate_series(1, 4) AS k""",
        # One message per device: A/B alternating; 1 in 33 refused, 1 in 100 dropped; sent over seven days.
        """INSERT INTO delivery_message (dispatch_id, profile_id, device_id, variant, status, code, attempts,
               payload_hash, created_at, updated_at, sent_at)
            SELECT %(dispatch)s, d.profile_id, d.id, CASE WHEN d.id %% 2 = 0 THEN 'A' ELSE 'B' END,
                   s.status, s.code, CASE WHEN s.status = 'dropped' THEN 0 ELSE 1 END, '', %(t0)s,
                   %(t0)s + (d.id %% 7) * interval '1 day' + (d.id %% 3600) * interval '1 second',
                   CASE WHEN s.status = 'sent'
                        THEN %(t0)s + (d.id %% 7) * interval '1 day' + (d.id %% 3600) * interval '1 second' END
            FROM (SELECT id, profile_id FROM segments_device ORDER BY id LIMIT %(messages)s) AS d,
            LATERAL (SELECT CASE WHEN d.id %% 100 = 7 THEN 'dropped' WHEN d.id %% 33 = 5 THEN 'failed' ELSE 'sent' END
                            AS status,
                            CASE WHEN d.id %% 100 = 7 THEN 'frequency_cap'
                                 WHEN d.id %% 33 = 5 THEN (ARRAY['browser_unsubscribed', 'token_invalid',
                                                                'server_issue'])[1 + d.id %% 3]
                                 ELSE '' END AS code) AS s""",
        # The engagement events and what they did to their messages: views on the first sent
        # messages, clicks on the first fifth of those.
        """CREATE TEMP TABLE bench_engaged AS
            SELECT id, profile_id, sent_at, row_number() OVER (ORDER BY id) AS n
            FROM delivery_message WHERE dispatch_id = %(dispatch)s AND status = 'sent' ORDER BY id LIMIT %(views)s""",
        """INSERT INTO segments_event (profile_id, name, properties, occurred_at, received_at)
            SELECT profile_id, 'Notification Viewed', jsonb_build_object('message_id', id::text),
                   sent_at + interval '40 seconds', sent_at + interval '41 seconds'
            FROM bench_engaged""",
        """INSERT INTO segments_event (profile_id, name, properties, occurred_at, received_at)
            SELECT profile_id, 'Notification Clicked', jsonb_build_object('message_id', id::text),
                   sent_at + interval '5 minutes', sent_at + interval '5 minutes 1 second'
            FROM bench_engaged WHERE n <= %(clicks)s""",
        """UPDATE delivery_message m SET viewed_at = e.sent_at + interval '40 seconds',
               clicked_at = CASE WHEN e.n <= %(clicks)s THEN e.sent_at + interval '5 minutes' END
            FROM bench_engaged e WHERE m.id = e.id""",
        # 5,000 conversions (purchases two hours after the click) and a control group of 10,000.
        """INSERT INTO segments_event (profile_id, name, properties, occurred_at, received_at)
            SELECT profile_id, 'Charged', jsonb_build_object('amount', 10 + n %% 90),
                   sent_at + interval '2 hours', sent_at + interval '2 hours'
            FROM bench_engaged WHERE n <= 5000""",
        """INSERT INTO stats_conversion (message_id, campaign_id, dispatch_id, variant, event_id, occurred_at, revenue)
            SELECT m.id, %(campaign)s, m.dispatch_id, m.variant, NULL, m.sent_at + interval '2 hours', 10 + e.n %% 90
            FROM bench_engaged e JOIN delivery_message m ON m.id = e.id WHERE e.n <= 5000""",
        """INSERT INTO campaigns_controlmember (run_id, profile_id)
            SELECT %(run)s, id FROM segments_profile ORDER BY id DESC LIMIT 10000""",
        "ANALYZE",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, params)
    return campaign, run


def time_tracking(run, events, batch, per_event_sample):
    """Both ways of tracking, each on engagement events for fresh messages (not viewed yet),
    four views to one click as in the build, a click on a message also viewed: the batch path
    (``do_track_events`` as the task runs it, ``batch`` events a call) on ``events`` events,
    then the per-event way (``track_one_by_one``) on ``per_event_sample`` more. Each records
    one view or click per event; both are checked on the messages."""
    from delivery.models import Message
    from stats.actions.events import do_track_events

    sample = per_event_sample
    targets = list(
        Message.objects.filter(dispatch_id=run.dispatch_id, status="sent", viewed_at__isnull=True)
        .order_by("-pk")
        .values_list("pk", "profile_id", "sent_at")[: (events + sample) * 4 // 5]
    )
    batched, one_by_one = targets[: events * 4 // 5], targets[events * 4 // 5 :]
    tracking_s = _time_tracking(batched, batch, do_track_events)
    per_event_s = _time_tracking(one_by_one, batch, track_one_by_one)
    figures = {
        "tracking_events_per_s": round(_events(batched) / tracking_s, 1),
        "per_event_events_per_s": round(_events(one_by_one) / per_event_s, 1),
        "tracking_events": _events(batched),
        "tracking_batch": batch,
        "per_event_events": _events(one_by_one),
    }
    figures["tracking_speedup"] = round(figures["tracking_events_per_s"] / figures["per_event_events_per_s"], 1)
    figures["tracking_load_avg"] = round(os.getloadavg()[0], 1)
    return figures


def _events(targets):
    """A view for each target message and a click for every fourth."""
    return len(targets) + len(targets[::4])


def _time_tracking(targets, batch, track):
    """Seconds ``track`` takes on the targets' engagement events, ``batch`` event ids a call."""
    from delivery.models import Message
    from segments.models import Event

    events = []
    for number, (pk, profile_id, sent_at) in enumerate(targets):
        viewed = Event(
            profile_id=profile_id,
            name="Notification Viewed",
            properties={"message_id": str(pk)},
            occurred_at=sent_at + timedelta(seconds=30),
        )
        events.append(viewed)
        if number % 4 == 0:
            clicked = Event(
                profile_id=profile_id,
                name="Notification Clicked",
                properties={"message_id": pk},
                occurred_at=sent_at + timedelta(minutes=2),
            )
            events.append(clicked)
    ids = [event.pk for event in Event.objects.bulk_create(events, batch_size=1000)]
    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        track(ids[start : start + batch])
    elapsed = time.perf_counter() - started
    pks = [pk for pk, _, _ in targets]
    viewed = Message.objects.filter(pk__in=pks, viewed_at__isnull=False).count()
    clicked = Message.objects.filter(pk__in=pks[::4], clicked_at__isnull=False).count()
    if (viewed, clicked) != (len(pks), len(pks[::4])):
        raise SystemExit(f"{track.__name__} recorded {viewed} views and {clicked} clicks of {len(pks)} messages")
    return elapsed


def track_one_by_one(event_ids):
    """The way tracking went before it was set-based, kept here to compare: in one transaction
    per batch, for each event a SELECT of its message (with the profile check) and a
    conditional UPDATE for the view and, for a click, one for the click."""
    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from delivery.models import Message
    from segments.models import Event
    from stats.actions.tracking import CLICKED, message_id_of, note_changed

    events = Event.objects.filter(pk__in=event_ids).order_by("occurred_at", "pk")
    touched = []
    with transaction.atomic():
        for event in events.values("profile_id", "name", "properties", "occurred_at"):
            message_id = message_id_of(event["properties"])
            if message_id is None:
                continue
            mine = Message.objects.filter(pk=message_id)
            found = (
                mine.filter(Q(profile_id=event["profile_id"]) | Q(device__profile_id=event["profile_id"]))
                .values_list("dispatch_id", flat=True)
                .first()
            )
            if found is None:
                continue
            at, now = event["occurred_at"], timezone.now()
            changed = mine.filter(viewed_at__isnull=True).update(viewed_at=at, updated_at=now)
            if event["name"] == CLICKED:
                changed += mine.filter(clicked_at__isnull=True).update(clicked_at=at, updated_at=now)
            if changed:
                touched.append(found)
        note_changed(touched)


def time_roll_up():
    from stats.actions.rollup import do_roll_up
    from stats.models import RollUp

    started = time.perf_counter()
    if do_roll_up() != 1:
        raise SystemExit("the roll-up did not find the run's dispatch")
    first = time.perf_counter() - started
    second = do_roll_up()
    RollUp.objects.update(rolled_at=None)
    started = time.perf_counter()
    do_roll_up()
    forced = time.perf_counter() - started
    return {"roll_up_s": round(first, 2), "second_pass": second, "forced_roll_up_s": round(forced, 2)}


def naive_numbers(campaign):
    """The page's numbers straight from the messages, as a page without roll-ups would."""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncDate

    from delivery.models import Message

    messages = Message.objects.filter(dispatch__run__campaign=campaign)
    totals = messages.aggregate(
        sent=Count("pk", filter=Q(status="sent") | Q(status="failed", attempts__gt=0)),
        delivered=Count("pk", filter=Q(status="sent")),
        viewed=Count("pk", filter=Q(viewed_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
    )
    trend = {}
    for name, field in (("sent", "sent_at"), ("viewed", "viewed_at"), ("clicked", "clicked_at")):
        rows = messages.filter(**{f"{field}__isnull": False}).values(day=TruncDate(field)).annotate(n=Count("pk"))
        trend[name] = {row["day"]: row["n"] for row in rows}
    variants = list(
        messages.values("variant").annotate(
            sent=Count("pk", filter=Q(status="sent")), clicked=Count("pk", filter=Q(clicked_at__isnull=False))
        )
    )
    errors = list(messages.filter(status__in=["failed", "dropped"]).values("code").annotate(n=Count("pk")))
    return totals, trend, variants, errors


def time_pages(campaign, runs):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.urls import reverse

    from accounts import roles
    from stats import reports

    viewer = get_user_model().objects.create_user("bench-viewer", password=secrets.token_urlsafe(16))
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client = Client()
    client.force_login(viewer)
    url = reverse("stats:campaign", args=[campaign.pk])

    def page():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"the stats page answered {response.status_code}")

    page_ms = median_ms(page, runs)
    naive_ms = median_ms(lambda: naive_numbers(campaign), runs)
    rolled = reports.totals(campaign)
    naive = naive_numbers(campaign)[0]
    same = all(getattr(rolled, name) == naive[name] for name in ("sent", "delivered", "viewed", "clicked"))
    return page_ms, naive_ms, same


def median_ms(work, runs):
    work()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


if __name__ == "__main__":
    main()
