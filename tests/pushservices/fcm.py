"""An FCM HTTP v1 service and its OAuth2 token endpoint on 127.0.0.1, checking what Google checks.

``POST /token`` takes a JWT-bearer grant (RFC 7523): the assertion must be RS256-signed with
the service account's private key (verified against the public key registered here, chosen
by the ``kid`` header), name the account in ``iss``, Google's token endpoint in ``aud``, the
firebase.messaging scope, and be valid now for at most an hour; it answers an access token
with ``expires_in``. ``POST /v1/projects/<project>/messages:send`` wants a Bearer token it
issued and that has not expired, a well-formed ``message``, and a registration token it
knows; it keeps the message and answers ``{"name": "projects/<project>/messages/<id>"}``.
Errors use FCM's real bodies (google.rpc.Status with an FcmError detail). Tests can make a
token fail, slow a token down, or revoke every access token to force a refresh.

    with FcmService() as service:
        account = service.add_service_account()      # the JSON key, token_uri pointing here
        device = service.register()                  # a registration token
        ... FcmProvider(account, endpoint=service.origin) sends to device ...
        service.messages(device)[0]["notification"]["title"]
"""

import asyncio
import base64
import itertools
import json
import re
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.pushservices.server import ThreadedService

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
DURATION = re.compile(r"^\d+(\.\d{1,9})?s$")
MESSAGE_KEYS = {
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "token",
    "topic",
    "condition",
}
ANDROID_KEYS = {"collapse_key", "priority", "ttl", "restricted_package_name", "data", "notification", "fcm_options"}

# (HTTP status, google.rpc status, message) for each FCM ErrorCode, as FCM answers them.
ERRORS = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'"),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fcm_error(error_code, message=None):
    status, rpc_status, default = ERRORS[error_code]
    body = {
        "error": {
            "code": status,
            "message": message or default,
            "status": rpc_status,
            "details": [{"@type": FCM_ERROR, "errorCode": error_code}],
        }
    }
    return status, body


def unauthenticated(reason):
    """Google's answer to a missing, unknown or expired access token: no FcmError detail."""
    return 401, {
        "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            "status": "UNAUTHENTICATED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}],
        }
    }


class Rejected(Exception):
    def __init__(self, status, body, reason, headers=None):
        super().__init__(reason)
        self.status = status
        self.body = body
        self.reason = reason
        self.headers = headers or {}


def invalid_argument(reason):
    return Rejected(*fcm_error("INVALID_ARGUMENT", reason), reason)


@dataclass
class Account:
    client_email: str
    project_id: str
    private_key_id: str
    public_key: rsa.RSAPublicKey


@dataclass
class Received:
    project_id: str
    message: dict
    access_token: str
    at: float = field(default_factory=time.time)


def new_service_account_key(project_id, client_email, token_uri, private_key_id=None):
    """A service-account JSON key as Firebase's console gives it, with a fresh RSA key.
    Returns (the key as a dict, the public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": private_key_id or secrets.token_hex(20),
        "private_key": pem,
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**20)),
        "token_uri": token_uri,
    }
    return info, key.public_key()


def forged_copy(info):
    """The same account, key id and token URI, signed with a key the service never saw."""
    forged, _ = new_service_account_key(
        info["project_id"], info["client_email"], info["token_uri"], private_key_id=info["private_key_id"]
    )
    return forged


class FcmService(ThreadedService):
    name = "local FCM service"

    def __init__(self, token_lifetime=3600):
        self.token_lifetime = token_lifetime
        self.accounts = {}  # client_email -> Account
        self.access_tokens = {}  # access token -> (client_email, expires at)
        self.tokens_issued = 0
        self.devices = {}  # registration token -> "registered" | "unregistered"
        self.received = defaultdict(list)  # registration token -> [Received]
        self.rejected = []  # (where, status, reason)
        self.requests = 0
        self._scripted = defaultdict(list)  # registration token -> [(status, body, headers)]
        self._delay = {}
        self._ids = itertools.count(1)
        self._loop = None
        self._runner = None
        self.origin = None

    # -- what tests call -------------------------------------------------------------

    @property
    def token_uri(self):
        return f"{self.origin}/token"

    def add_service_account(self, project_id="clarion-test"):
        """A new service account allowed to send for ``project_id``; its JSON key as a dict."""
        email = f"sender-{next(self._ids)}@{project_id}.iam.gserviceaccount.com"
        info, public_key = new_service_account_key(project_id, email, self.token_uri)
        self.accounts[email] = Account(email, project_id, info["private_key_id"], public_key)
        return info

    def register(self):
        """A registration token, as an app instance would get from the FCM SDK."""
        token = f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(96)}"
        self.devices[token] = "registered"
        return token

    def unregister(self, token):
        """The app was uninstalled: FCM answers UNREGISTERED from now on."""
        self.devices[token] = "unregistered"

    def fail(self, token, error_code, times=1, retry_after=None):
        """Answer the next ``times`` sends to ``token`` with FCM's ``error_code`` body."""
        status, body = fcm_error(error_code)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._scripted[token].extend([(status, body, headers)] * times)

    def slow(self, token, seconds):
        self._delay[token] = seconds

    def revoke_access_tokens(self):
        """Forget every access token issued so far: the next send gets 401 UNAUTHENTICATED."""
        self.access_tokens.clear()

    def messages(self, token):
        return [item.message for item in self.received[token]]

    # -- the token endpoint ----------------------------------------------------------

    async def _token(self, request):
        form = await request.post()
        try:
            if form.get("grant_type") != JWT_BEARER:
                raise Rejected(400, {"error": "unsupported_grant_type"}, "grant_type")
            account = self._verify_assertion(form.get("assertion", ""), time.time())
        except Rejected as rejection:
            self.rejected.append(("token", rejection.status, rejection.reason))
            return web.json_response(rejection.body, status=rejection.status)
        access_token = f"ya29.{secrets.token_urlsafe(48)}"
        self.access_tokens[access_token] = (account.client_email, time.time() + self.token_lifetime)
        self.tokens_issued += 1
        return web.json_response(
            {"access_token": access_token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    def _verify_assertion(self, assertion, now):
        def refuse(description):
            return Rejected(400, {"error": "invalid_grant", "error_description": description}, description)

        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except ValueError as error:
            raise refuse("Invalid JWT: malformed") from error
        if header.get("alg") != "RS256":
            raise refuse("Invalid JWT: not RS256")
        account = self.accounts.get(claims.get("iss"))
        if account is None or header.get("kid") not in (None, account.private_key_id):
            raise refuse("Invalid grant: account not found")
        try:
            account.public_key.verify(
                signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as error:
            raise refuse("Invalid JWT Signature.") from error
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            raise refuse("Invalid JWT: aud")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            raise refuse("Invalid JWT: iat and exp must be integers")
        if iat > now + CLOCK_SKEW or exp <= now or exp - iat > MAX_ASSERTION_LIFETIME:
            raise refuse("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
        if SCOPE not in str(claims.get("scope", "")).split():
            raise refuse("Invalid JWT: scope")
        return account

    # -- messages:send ---------------------------------------------------------------

    async def _send(self, request):
        self.requests += 1
        try:
            body = await request.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        token = message.get("token") if isinstance(message, dict) else None
        if token in self._delay:
            await asyncio.sleep(self._delay[token])
        try:
            access_token = self._authenticate(request, request.match_info["project"], time.time())
            if not isinstance(message, dict):
                raise invalid_argument("Request contains an invalid argument: no message")
            if self._scripted.get(token):
                status, error_body, headers = self._scripted[token].pop(0)
                raise Rejected(status, error_body, f"scripted {status}", headers)
            self._check(message)
            if self.devices.get(token) != "registered":
                status, error_body = fcm_error("UNREGISTERED" if token in self.devices else "INVALID_ARGUMENT")
                raise Rejected(status, error_body, "unknown token")
        except Rejected as rejection:
            self.rejected.append(("send", rejection.status, rejection.reason))
            return web.json_response(rejection.body, status=rejection.status, headers=rejection.headers)
        project = request.match_info["project"]
        self.received[token].append(Received(project_id=project, message=message, access_token=access_token))
        return web.json_response({"name": f"projects/{project}/messages/0:{uuid.uuid4().hex}"})

    def _authenticate(self, request, project_id, now):
        scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not access_token:
            raise Rejected(*unauthenticated("CREDENTIALS_MISSING"), "no bearer token")
        issued = self.access_tokens.get(access_token)
        if issued is None:
            raise Rejected(*unauthenticated("ACCESS_TOKEN_TYPE_UNSUPPORTED"), "unknown access token")
        email, expires_at = issued
        if expires_at <= now:
            raise Rejected(*unauthenticated("ACCESS_TOKEN_EXPIRED"), "expired access token")
        if self.accounts[email].project_id != project_id:
            status = 403
            body = {"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}}
            raise Rejected(status, body, "another project")
        return access_token

    def _check(self, message):
        unknown = set(message) - MESSAGE_KEYS
        if unknown:
            raise invalid_argument(f"Invalid JSON payload received. Unknown name \"{sorted(unknown)[0]}\" at 'message'")
        if sum(1 for key in ("token", "topic", "condition") if message.get(key)) != 1:
            raise invalid_argument("Exactly one of token, topic or condition must be given")
        if not isinstance(message.get("token"), str):
            raise invalid_argument("token must be a string")
        data = message.get("data", {})
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise invalid_argument("data values must be strings")
        notification = message.get("notification", {})
        if not isinstance(notification, dict) or set(notification) - {"title", "body", "image"}:
            raise invalid_argument("Invalid notification")
        android = message.get("android", {})
        if not isinstance(android, dict) or set(android) - ANDROID_KEYS:
            raise invalid_argument("Invalid android config")
        if android.get("priority", "NORMAL") not in ("NORMAL", "HIGH"):
            raise invalid_argument("Invalid value at 'message.android.priority'")
        if "ttl" in android and not (isinstance(android["ttl"], str) and DURATION.match(android["ttl"])):
            raise invalid_argument(
                "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)"
            )
        if not isinstance(android.get("collapse_key", ""), str):
            raise invalid_argument("collapse_key must be a string")

    # -- running it in a thread ------------------------------------------------------

    def routes(self, app):
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
