"""Small helpers that read settings from the environment and fail loudly.

A bad value stops the process at start-up with the variable's name and what was
expected, instead of surfacing later as a confusing runtime error (the pattern
healthchecks uses in ``hc/settings.py``).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name):
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name, default=None, *, choices=None):
    value = _raw(name) or default
    if choices is not None and value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def env_bool(name, default=False):
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}.")


def env_int(name, default, *, minimum=None, maximum=None):
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {number}.")
    return number


def env_list(name, default=()):
    """A comma-separated list; empty items are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name, default, *, schemes=("http", "https")):
    """An absolute URL with one of ``schemes`` and a host, returned without a trailing slash."""
    value = _raw(name) or default
    parts = urlsplit(value)
    valid = "@" in parts.path if parts.scheme == "mailto" else bool(parts.hostname)
    if parts.scheme not in schemes or not valid:
        starts = " or ".join(s + (":" if s == "mailto" else "://") for s in schemes)
        raise ImproperlyConfigured(f"{name} must be an absolute URL starting with {starts}; got {value!r}.")
    return value.rstrip("/")


def _fernet_key(key, where):
    try:
        Fernet(key)
    except ValueError:
        # The value is a secret (or a typo of one): say which, never what.
        raise ImproperlyConfigured(
            f"{where} is not a Fernet key (32 bytes in url-safe base64, 44 characters)."
        ) from None
    return key


def env_fernet_keys(name):
    """A comma-separated list of Fernet keys, each checked, in the order given."""
    keys = env_list(name)
    return [_fernet_key(key, f"{name}: key {number}") for number, key in enumerate(keys, start=1)]


def kept_fernet_key(path):
    """The Fernet key in ``path``, made on first use and kept (readable by its owner only).

    The file appears whole or not at all (written beside it, then hard-linked into place), so
    web, worker and beat starting together all read the one key whichever makes it."""
    path = Path(path)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(Fernet.generate_key().decode() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    return _fernet_key(path.read_text().strip(), str(path))
