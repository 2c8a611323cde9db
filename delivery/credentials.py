"""Checking the FCM and APNs credentials an Admin pastes on the Settings page.

Each check answers the value to store or raises ``CredentialError`` naming the field.
The messages never quote the input: a key pasted into the wrong box must not come back
in a page, a log line or a traceback (the exceptions of ``json`` and ``cryptography``
are dropped for that reason, ``from None``).
"""

import json
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

# Firebase project ids: 6 to 30 lowercase letters, digits and hyphens, starting with a letter.
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
# Apple's team and key ids are 10 characters of upper-case letters and digits.
APPLE_ID = re.compile(r"[A-Z0-9]{10}")
BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


class CredentialError(ValueError):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def _private_key(pem, field, what):
    try:
        return load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CredentialError(field, f"The {what} is not a PEM private key without a password.") from None


def parse_service_account(text):
    """The service-account JSON key file Firebase gives (Project settings → Service
    accounts → Generate new private key), as a dict google-auth can sign with."""
    try:
        info = json.loads(text)
    except ValueError:
        raise CredentialError("service_account", "This is not JSON: paste the whole key file.") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise CredentialError("service_account", 'This is not a service-account key: "type" must be "service_account".')
    for name in ("client_email", "private_key", "token_uri"):
        if not isinstance(info.get(name), str) or not info[name].strip():
            raise CredentialError("service_account", f'The key file has no "{name}".')
    if "@" not in info["client_email"]:
        raise CredentialError("service_account", '"client_email" is not an email address.')
    _private_key(info["private_key"], "service_account", '"private_key"')
    return info


def check_project_id(project_id, service_account=None):
    """The FCM project id as typed, or the key file's own when left empty."""
    project_id = (project_id or "").strip() or (service_account or {}).get("project_id", "")
    if not project_id:
        raise CredentialError("project_id", "Give the Firebase project id (the key file names none).")
    if not isinstance(project_id, str) or not PROJECT_ID.fullmatch(project_id):
        raise CredentialError("project_id", "A Firebase project id is 6 to 30 lowercase letters, digits and hyphens.")
    return project_id


def parse_apns_key(text):
    """The .p8 file of an APNs auth key: a PKCS#8 PEM EC key on P-256, which signs the
    ES256 provider tokens (Apple: "Establishing a token-based connection to APNs")."""
    pem = "\n".join(text.strip().splitlines()) + "\n"  # browsers post a textarea with CRLF line ends
    key = _private_key(pem, "private_key", ".p8 file")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CredentialError("private_key", "An APNs key is an EC P-256 key (.p8); this is another kind of key.")
    return pem


def check_apple_id(value, field, what):
    value = (value or "").strip()
    if not APPLE_ID.fullmatch(value):
        raise CredentialError(field, f"The {what} is 10 capital letters and digits, as shown in your Apple account.")
    return value


def check_bundle_id(value):
    value = (value or "").strip()
    if not BUNDLE_ID.fullmatch(value):
        raise CredentialError("topic", "Give the app's bundle id, e.g. com.example.shop.")
    return value
