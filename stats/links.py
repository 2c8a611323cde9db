"""Click links through Clarion: ``/stats/r/<token>`` records the click and redirects.

The token is signed (``django.core.signing`` with its own salt) over the message id and the
target URL together, so neither can be changed: Clarion never redirects to a URL taken from
a request parameter, and a link made for one message cannot count a click for another.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "clarion.stats.click"


class BadLink(Exception):
    """The token was not made by this Clarion (tampered, truncated, or another salt)."""


def _web_url(url):
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


def click_token(message_id, url):
    if not _web_url(url):
        raise ValueError(f"a click link must go to an http(s) URL; got {url!r}")
    return signing.dumps({"m": int(message_id), "u": url}, salt=SALT, compress=True)


def click_url(message_id, url):
    """The absolute link to put in a message instead of ``url``."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("stats:click", args=[click_token(message_id, url)])


def read_click_token(token):
    """(message id, target URL) of a token, or BadLink."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as error:
        raise BadLink(str(error)) from None
    if not isinstance(data, dict) or not isinstance(data.get("m"), int) or not _web_url(data.get("u")):
        raise BadLink("the token does not hold a message and a web address")
    return data["m"], data["u"]
