"""Demo stats for ``seed_demo``: the demo campaigns' runs rolled up, so their stats pages
show numbers at once instead of after beat's first minute."""

from stats.actions.rollup import do_roll_up


def seed(stdout, **options):
    stdout.write(f"Stats: {do_roll_up()} dispatches rolled up.")
