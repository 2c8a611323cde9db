"""How often a failed push is tried again, and the wait between tries."""

import pytest

from delivery.actions.retries import retry_delay, tries_allowed


@pytest.mark.parametrize(
    ("platform", "browser", "tries"),
    [
        ("web", "chrome", 6),
        ("web", "firefox", 3),
        ("web", "kaios", 3),
        ("web", "safari", 3),
        ("web", "", 3),
        ("android", "", 5),
        ("ios", "", 5),
    ],
)
def test_tries_per_browser_and_app_platform(platform, browser, tries):
    assert tries_allowed(platform, browser) == tries


def test_backoff_doubles_from_ten_seconds_and_a_retry_after_wins():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(20) == 3600
    assert retry_delay(1, retry_after=120) == 120
    assert retry_delay(3, retry_after=0) == 1
