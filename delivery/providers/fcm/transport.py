"""FCM HTTP v1 (firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send)
over one pooled aiohttp session, authenticated with a service account's OAuth2 token.

Why not pyfcm, which the issue named: pyfcm 2.1.1 sends with ``requests``, one request at a
time per thread, sleeps in the worker on Retry-After, and its ``async_notify_multiple_devices``
opens a new aiohttp session (a new connection) for every message; the FCM URL is a class
constant. What it does well, getting the access token, it does with google-auth, so we use
google-auth directly (``auth.py``: one token per service account shared by the process,
renewed before expiry) and post over one pooled aiohttp session like the Web Push provider,
concurrently up to ``concurrency``, with the seed's 10 s connect timeout. The endpoint and
the token URI are arguments so tests point both at a local FCM service.
"""

import json
import logging

import aiohttp

from delivery.providers.base import NO_ANSWER, Outcome, parse_retry_after, result
from delivery.providers.fcm import errors
from delivery.providers.fcm.auth import AccessTokens, TokenUnavailable
from delivery.providers.pooled import PooledHttpProvider

log = logging.getLogger(__name__)

ENDPOINT = "https://fcm.googleapis.com"
CONNECT_TIMEOUT = 10  # seconds, the seed's connection timeout
READ_TIMEOUT = 30

# Payload keys that go to FCM's cross-platform ``notification`` and to ``android.notification``
# (firebase.google.com/docs/reference/fcm/rest/v1/projects.messages#AndroidNotification);
# every other key travels in ``data``, whose values FCM requires to be strings.
NOTIFICATION_KEYS = ("title", "body", "image")
ANDROID_NOTIFICATION_KEYS = ("channel_id", "icon", "color", "sound", "tag", "click_action")


def message_for(push):
    """The ``message`` object of a messages:send request for this push."""
    payload = dict(push.payload)
    notification = {key: str(payload.pop(key)) for key in NOTIFICATION_KEYS if payload.get(key)}
    android_notification = {key: str(payload.pop(key)) for key in ANDROID_NOTIFICATION_KEYS if payload.get(key)}
    extra = payload.pop("data", None) or {}
    data = {
        str(key): value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for key, value in {**payload, **extra}.items()
    }
    android = {
        # FCM has two Android priorities; RFC 8030's "high" is the only one that wakes a dozing device.
        "priority": "HIGH" if push.urgency == "high" else "NORMAL",
        "ttl": f"{max(0, int(push.ttl))}s",  # a google.protobuf.Duration in JSON
    }
    collapse_key = push.collapse_key or push.message_id
    if collapse_key not in (None, ""):
        android["collapse_key"] = str(collapse_key)
    if android_notification:
        android["notification"] = android_notification
    message = {"token": push.token, "android": android}
    if notification:
        message["notification"] = notification
    if data:
        message["data"] = data
    return message


class FcmProvider(PooledHttpProvider):
    name = "fcm"

    def __init__(
        self,
        service_account,
        *,
        endpoint=ENDPOINT,
        token_uri=None,
        concurrency=200,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    ):
        """``service_account``: the JSON key Firebase gives (a dict or its text). ``token_uri``
        overrides the key's own; ``endpoint`` is FCM's origin."""
        info = json.loads(service_account) if isinstance(service_account, str | bytes) else dict(service_account)
        self.project_id = info["project_id"]
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{self.project_id}/messages:send"
        self.tokens = AccessTokens.shared(info, token_uri)
        super().__init__(concurrency=concurrency, connect_timeout=connect_timeout, read_timeout=read_timeout)

    def __repr__(self):
        return f"<FcmProvider {self.project_id}>"

    async def send_one(self, session, push):
        if not push.token:
            log.info("fcm: device %s not sent: no registration token -> fcm_invalid_argument", push.device_id)
            return result(push, errors.INVALID_ARGUMENT)
        body = {"message": message_for(push)}
        try:
            token = await self.tokens.token()
            status, answer_body, retry_after = await self._post(session, body, token)
            if errors.is_expired_token(status, answer_body):
                # The token may have been revoked or the clocks disagree: one fresh token, one resend.
                log.info("fcm: device %s: HTTP 401, refreshing the access token once", push.device_id)
                token = await self.tokens.token_after_rejection(token)
                status, answer_body, retry_after = await self._post(session, body, token)
        except TokenUnavailable as error:
            answer = errors.TOKEN_REFUSED if error.refused else NO_ANSWER
            log.info("fcm: device %s not sent: %s -> %s", push.device_id, error, answer.code)
            return result(push, answer)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.info("fcm: device %s: no answer (%s)", push.device_id, type(error).__name__)
            return result(push, NO_ANSWER)

        answer = errors.answer_for(status, answer_body)
        if answer.outcome != Outcome.SENT:
            error_code, rpc_status = errors.reasons(answer_body)
            log.info("fcm: device %s: HTTP %s %s %s -> %s", push.device_id, status, rpc_status, error_code, answer.code)
        if answer.outcome != Outcome.RETRY:
            retry_after = None
        elif answer is errors.RATE_EXCEEDED and retry_after is None:
            retry_after = errors.QUOTA_DEFAULT_WAIT
        return result(push, answer, status=status, retry_after=retry_after)

    async def _post(self, session, body, token):
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(self.url, json=body, headers=headers) as response:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            text = await response.read()  # so the connection goes back to the pool
            try:
                answer_body = json.loads(text) if text else {}
            except ValueError:
                answer_body = {}
            return response.status, answer_body, retry_after
