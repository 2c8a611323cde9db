"""Login throttling: django-axes with one limit per username and a higher one per address.

Axes' backend refuses a login while its username or address is locked, and its
database handler records each failure as a row per (username, address, user agent) —
in the database because the embedded mode has no Redis, the rows stay with a test's
transaction, and Admins can see and delete them in the Django admin (Access attempts).
Axes compares one count with one limit; this handler decides instead, with two:

- per username, across every address (LOGIN_FAILURE_LIMIT): an attacker rotates
  addresses, a person mistypes a few times;
- per address, across every username (LOGIN_FAILURE_LIMIT_PER_ADDRESS): one address
  trying a common password against many accounts, set higher so an office behind one
  NAT address is not locked out by a few people's typos.

A failure counts for LOGIN_COOLOFF_MINUTES. Refused attempts during a lock are not
counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off), so the time the lockout
page names is the time it ends.
"""

import logging
import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)


class LoginThrottle(AxesDatabaseHandler):
    def locked_until(self, request, credentials=None):
        """When the lock on this request's username or address lifts, or None when
        neither is locked."""
        lock = self._lock(request, credentials)
        return lock and lock[0]

    def get_failures(self, request, credentials=None):
        # Axes locks when this reaches AXES_FAILURE_LIMIT: report that exactly when
        # locked_until says so, so the two never disagree.
        return settings.AXES_FAILURE_LIMIT if self._lock(request, credentials) else 0

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        refused_while_locked = getattr(request, "axes_locked_out", False)
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is not None and request.axes_locked_out and not refused_while_locked:
            until, failures, scope = self._lock(request, credentials)
            # repr() keeps a username with a line break on one line.
            log.warning(
                "Login locked for %d minutes: username=%r address=%s (%d failed attempts for this %s)",
                minutes_left(until),
                get_client_username(request, credentials),
                request.axes_ip_address,
                failures,
                scope,
            )

    def reset_user_attempts(self, request, credentials=None):
        # A successful login clears its username's failures only (Axes would clear the
        # address's too: one valid account would then reset a guesser's address count).
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count

    def _lock(self, request, credentials):
        """(until, failures, "username" or "address") for the lock that lasts longest, or None."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        scopes = [
            ("username", recent.filter(username=username), settings.AXES_FAILURE_LIMIT),
            ("address", recent.filter(ip_address=request.axes_ip_address), settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS),
        ]
        locks = []
        for scope, attempts, limit in scopes:
            # Each row counts until its last failure is a cool-off old. Newest first: the
            # lock ends when the oldest of the fewest newest rows that reach the limit expires.
            total = 0
            for attempt_time, failures in attempts.order_by("-attempt_time").values_list(
                "attempt_time", "failures_since_start"
            ):
                total += failures
                if total >= limit:
                    locks.append((attempt_time + get_cool_off(request), total, scope))
                    break
        return max(locks, default=None)


def seconds_left(until):
    """Whole seconds until ``until``, at least 1 (for Retry-After)."""
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def minutes_left(until):
    """Whole minutes until ``until``, rounded up: "try again in 0 minutes" would be wrong."""
    return math.ceil(seconds_left(until) / 60)
