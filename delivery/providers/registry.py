"""Which provider sends to a device: by its platform, with the credentials of the moment.

``PUSH_PROVIDERS`` (an environment setting) picks the mode:

  live     (the default when DEBUG is off) Web Push with the active VAPID key, FCM and APNs
           with the credentials of ``DeliverySettings``. A channel without credentials has no
           provider: its messages fail with that channel's credentials code.
  sandbox  (the default when DEBUG is on, i.e. ``make run``) the sandbox provider records and
           sends nothing, so campaigns flow with no credentials; once FCM or APNs
           credentials are saved in Settings, that channel sends for real. Web push stays in
           the sandbox in this mode (``make run`` makes a VAPID key and a demo audience whose
           subscriptions are made up); set ``PUSH_PROVIDERS=live`` to send it.

Tests point the real providers at the local services with ``FCM_ENDPOINT`` and
``APNS_HOST`` / ``APNS_PORT`` / ``APNS_CAFILE``. Providers are kept per process and per
credentials, so a worker reuses one VAPID header per push service and one FCM token.
"""

import hashlib
import json
import threading

from django.conf import settings

from delivery.providers.apns import APNsProvider
from delivery.providers.apns.transport import default_ssl_context
from delivery.providers.fcm import FcmProvider
from delivery.providers.sandbox import SandboxProvider
from delivery.providers.webpush import WebPushProvider

# What a message to a channel without credentials fails with (seed 003 codes).
MISSING_CREDENTIALS = {"web": "bad_auth", "android": "gcm_msi", "ios": "apns_auth_error"}

_built = {}
_lock = threading.Lock()


def _fingerprint(*parts):
    return hashlib.sha256("\0".join(str(part) for part in parts).encode()).hexdigest()


def _kept(key, build):
    with _lock:
        if key not in _built:
            _built[key] = build()
        return _built[key]


class Providers:
    """The providers for one batch. Build it once per batch: it reads the settings once."""

    def __init__(self, delivery_settings, vapid_key, *, mode=None):
        self.mode = mode or settings.PUSH_PROVIDERS
        self.delivery_settings = delivery_settings
        self.vapid_key = vapid_key

    def for_platform(self, platform):
        """The provider for a device of this platform, or None when the channel has no credentials."""
        if platform == "web":
            return self._sandbox() if self.mode == "sandbox" else self._web()
        if platform == "android":
            return self._fcm() or (self._sandbox() if self.mode == "sandbox" else None)
        if platform == "ios":
            return self._apns() or (self._sandbox() if self.mode == "sandbox" else None)
        return None

    def _sandbox(self):
        return _kept(("sandbox",), SandboxProvider)

    def _web(self):
        key = self.vapid_key
        if key is None:
            return None
        return _kept(
            ("web", key.pk, _fingerprint(key.private_key, key.subject), settings.PUSH_READ_TIMEOUT),
            lambda: WebPushProvider(key.private_key, key.subject, read_timeout=settings.PUSH_READ_TIMEOUT),
        )

    def _fcm(self):
        account = self.delivery_settings.fcm_service_account.strip()
        if not account:
            return None
        project_id = self.delivery_settings.fcm_project_id.strip()

        def build():
            info = json.loads(account)
            if project_id:
                info["project_id"] = project_id  # Settings may name the project the key file does not
            return FcmProvider(info, endpoint=settings.FCM_ENDPOINT, read_timeout=settings.PUSH_READ_TIMEOUT)

        return _kept(
            ("fcm", _fingerprint(account, project_id, settings.FCM_ENDPOINT, settings.PUSH_READ_TIMEOUT)), build
        )

    def _apns(self):
        s = self.delivery_settings
        if not (s.apns_private_key.strip() and s.apns_key_id and s.apns_team_id and s.apns_topic):
            return None
        where = (
            s.apns_sandbox,
            settings.APNS_HOST,
            settings.APNS_PORT,
            settings.APNS_CAFILE,
            settings.PUSH_READ_TIMEOUT,
        )

        def build():
            options = {"sandbox": s.apns_sandbox, "read_timeout": settings.PUSH_READ_TIMEOUT}
            if settings.APNS_HOST:
                options.update(host=settings.APNS_HOST, port=settings.APNS_PORT)
            if settings.APNS_CAFILE:
                options["ssl_context"] = default_ssl_context(settings.APNS_CAFILE)
            return APNsProvider(s.apns_private_key, s.apns_key_id, s.apns_team_id, s.apns_topic, **options)

        return _kept(
            ("apns", _fingerprint(s.apns_private_key, s.apns_key_id, s.apns_team_id, s.apns_topic, *where)), build
        )
