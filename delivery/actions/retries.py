"""How often a failed push is tried again, and how long to wait between tries.

Pure functions of the device and the push service's answer: the pipeline
(``delivery/actions/sending.py``) holds a row for ``retry_delay`` seconds while it has tries
left, then records the failure.
"""

# Seed 003: Chrome 6 tries; Firefox, KaiOS and Safari 3. Opera delivers through Chrome's
# (FCM's) push service, so it gets Chrome's number; Edge (Microsoft's WNS), which the seed
# does not list, gets the smaller one. FCM and APNs both say "retry with exponential
# backoff" for 429 and 5xx without naming a number; 5 tries at 10 s doubling span about
# 2.5 minutes of trouble before we give up.
TRIES = {"chrome": 6, "opera": 6, "firefox": 3, "kaios": 3, "safari": 3, "edge": 3}
WEB_TRIES = 3
APP_TRIES = 5
BACKOFF_BASE = 10  # seconds before the second try; doubled for each one after
BACKOFF_MAX = 3600


def tries_allowed(platform, browser):
    if platform != "web":
        return APP_TRIES
    return TRIES.get(browser, WEB_TRIES)


def retry_delay(tries, retry_after=None):
    """Seconds before the next try after ``tries`` tries. A Retry-After from the service wins:
    it said when (RFC 9110 §10.2.3); otherwise 10 s, 20 s, 40 s … up to an hour."""
    if retry_after is not None:
        return max(1.0, min(float(retry_after), BACKOFF_MAX))
    return float(min(BACKOFF_BASE * 2 ** max(0, tries - 1), BACKOFF_MAX))
