"""The events roll-up per profile, name and UTC day (segments/actions/rollup.py), with its
watermark row and, on PostgreSQL, the trigger that keeps it exact when rolled events
move to another profile (identify's hand-over) or are deleted (with their profile).

The trigger is statement-level with transition tables: one set-based adjustment per
UPDATE or DELETE statement on segments_event, none per INSERT (ingestion pays nothing).
It reads the watermark FOR SHARE, so it waits for a roll-up batch in progress (which
holds it FOR UPDATE) and then adjusts with the batch's new watermark. SQLite, the
embedded mode, keeps the plain queries and gets no trigger."""

import django.db.models.deletion
from django.db import migrations, models

ADJUST = """
CREATE OR REPLACE FUNCTION segments_eventday_adjust() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mark bigint;
BEGIN
    SELECT rolled_through INTO mark FROM segments_eventrollup ORDER BY id LIMIT 1 FOR SHARE;
    IF coalesce(mark, 0) = 0 THEN
        RETURN NULL;
    END IF;
    WITH gone AS (
        SELECT profile_id, name, (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
        FROM old_rows WHERE id <= mark GROUP BY 1, 2, 3
    )
    UPDATE segments_eventday AS r SET count = r.count - gone.n FROM gone
    WHERE r.name = gone.name AND r.day = gone.day AND r.profile_id = gone.profile_id;
    DELETE FROM segments_eventday AS r USING old_rows AS o
    WHERE o.id <= mark AND r.name = o.name AND r.day = (o.occurred_at AT TIME ZONE 'UTC')::date
      AND r.profile_id = o.profile_id AND r.count <= 0;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO segments_eventday (profile_id, name, day, count)
        SELECT profile_id, name, (occurred_at AT TIME ZONE 'UTC')::date, count(*)
        FROM new_rows WHERE id <= mark GROUP BY 1, 2, 3
        ON CONFLICT (name, day, profile_id) DO UPDATE SET count = segments_eventday.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER segments_event_rollup_delete AFTER DELETE ON segments_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segments_eventday_adjust();
CREATE TRIGGER segments_event_rollup_update AFTER UPDATE ON segments_event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segments_eventday_adjust();
"""
DROP = """
DROP TRIGGER IF EXISTS segments_event_rollup_update ON segments_event;
DROP TRIGGER IF EXISTS segments_event_rollup_delete ON segments_event;
DROP FUNCTION IF EXISTS segments_eventday_adjust();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADJUST)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0008_app_version_prefix_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("rolled_through", models.BigIntegerField(default=0)),
                ("rolled_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="EventDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("day", models.DateField()),
                ("count", models.IntegerField()),
                (
                    "profile",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="segments.profile",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["profile", "name", "day"], include=("count",), name="segments_eventday_profile_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("name", "day", "profile"), include=("count",), name="segments_eventday_name_day_uniq"
                    )
                ],
            },
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
