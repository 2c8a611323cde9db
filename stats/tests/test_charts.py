from datetime import UTC, datetime
from itertools import pairwise

import pytest

from stats.charts import trend_chart
from stats.reports import Point


def point(sent, viewed=0, clicked=0):
    return Point(start=datetime(2026, 5, 4, tzinfo=UTC), sent=sent, viewed=viewed, clicked=clicked)


@pytest.mark.parametrize("sent", [0, 1, 2, 3, 7, 10, 13, 999, 1234])
def test_each_gridline_is_a_whole_number_at_or_above_the_data(sent):
    ticks = [label for _, label in trend_chart([point(sent)], "day")["ticks"]]
    values = [int(label.replace(",", "")) for label in ticks]
    assert values[0] == 0
    assert values[-1] >= sent
    steps = {b - a for a, b in pairwise(values)}
    assert len(steps) == 1 and steps.pop() > 0  # evenly spaced, so no label was rounded
