"""How an FCM HTTP v1 answer becomes a Clarion error code (FCM codes of the seed
003_5fa3a9527161ed4d.txt).

FCM v1 answers errors as a google.rpc.Status JSON body,
``{"error": {"code": 404, "status": "NOT_FOUND", "details": [{"@type":
"type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}``.
The ``errorCode`` is FCM's own reason (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode);
when it is missing we fall back to ``status``, then to the HTTP status.

  errorCode / status       HTTP  code                       outcome  retire  why (FCM ErrorCode docs)
  UNREGISTERED             404   push_unreg                 failed   yes     the app instance is gone
  INVALID_ARGUMENT         400   fcm_invalid_argument       failed   no      bad field or token format
  SENDER_ID_MISMATCH       403   gcm_msi                    failed   no      token registered to another
                                                                             sender: the seed's "wrong FCM
                                                                             API key" (legacy MismatchSenderId)
  PERMISSION_DENIED        403   gcm_msi                    failed   no      the service account may not send
                                                                             for this project: a wrong key too
  QUOTA_EXCEEDED           429   fcm_sending_rate_exceeded  retry    no      honour Retry-After, else wait
                                                                             at least 1 minute (FCM docs)
  UNAVAILABLE              503   fcm_internal_server_error  retry    no      overloaded; honour Retry-After
  INTERNAL                 500   fcm_internal_server_error  retry    no      unknown server error; retry
  UNAUTHENTICATED          401   fcm_oauth2_token_expired   failed   no      access token refused even after
                                                                             one refresh and resend
  THIRD_PARTY_AUTH_ERROR   401   gcm_others                 failed   no      the APNs/web push credential in
                                                                             Firebase is wrong: no token refresh
  anything else            any   gcm_others                 failed   no      UNSPECIFIED_ERROR and the unknown
  (other 5xx)              5xx   fcm_internal_server_error  retry    no
  no answer / timeout      -     dispatch_failed            retry    no      the base's NO_ANSWER (10 s connect)
  token endpoint refuses   -     fcm_oauth2_token_expired   failed   no      the key is wrong or revoked: no send
  token endpoint silent    -     dispatch_failed            retry    no      as a timeout; no send was made
"""

from delivery.providers.base import Answer, Outcome

PUSH_UNREG = Answer("push_unreg", Outcome.FAILED, retire_device=True)
INVALID_ARGUMENT = Answer("fcm_invalid_argument", Outcome.FAILED)
SENDER_MISMATCH = Answer("gcm_msi", Outcome.FAILED)
RATE_EXCEEDED = Answer("fcm_sending_rate_exceeded", Outcome.RETRY)
SERVER_ERROR = Answer("fcm_internal_server_error", Outcome.RETRY)
TOKEN_REFUSED = Answer("fcm_oauth2_token_expired", Outcome.FAILED)
OTHERS = Answer("gcm_others", Outcome.FAILED)

BY_ERROR_CODE = {
    "UNREGISTERED": PUSH_UNREG,
    "INVALID_ARGUMENT": INVALID_ARGUMENT,
    "SENDER_ID_MISMATCH": SENDER_MISMATCH,
    "QUOTA_EXCEEDED": RATE_EXCEEDED,
    "UNAVAILABLE": SERVER_ERROR,
    "INTERNAL": SERVER_ERROR,
    "THIRD_PARTY_AUTH_ERROR": OTHERS,
}
# google.rpc.Code names FCM uses in ``status`` when ``details`` carries no errorCode.
BY_STATUS = {
    "NOT_FOUND": PUSH_UNREG,
    "INVALID_ARGUMENT": INVALID_ARGUMENT,
    "RESOURCE_EXHAUSTED": RATE_EXCEEDED,
    "UNAVAILABLE": SERVER_ERROR,
    "INTERNAL": SERVER_ERROR,
    "UNAUTHENTICATED": TOKEN_REFUSED,
    "PERMISSION_DENIED": SENDER_MISMATCH,
}
BY_HTTP_STATUS = {
    400: INVALID_ARGUMENT,
    401: TOKEN_REFUSED,
    403: SENDER_MISMATCH,
    404: PUSH_UNREG,
    429: RATE_EXCEEDED,
}

# FCM docs (ErrorCode QUOTA_EXCEEDED): without Retry-After, back off for at least a minute.
QUOTA_DEFAULT_WAIT = 60.0

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def reasons(body):
    """(errorCode, status) from an FCM error body; empty strings for what is not there."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    error_code = ""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE and detail.get("errorCode"):
            error_code = str(detail["errorCode"])
            break
    return error_code, str(error.get("status") or "")


def answer_for(http_status, body):
    if 200 <= http_status < 300:
        return Answer("", Outcome.SENT)
    error_code, status = reasons(body)
    if error_code in BY_ERROR_CODE:
        return BY_ERROR_CODE[error_code]
    if status in BY_STATUS:
        return BY_STATUS[status]
    if http_status >= 500:
        return SERVER_ERROR
    return BY_HTTP_STATUS.get(http_status, OTHERS)


def is_expired_token(http_status, body):
    """A 401 that a fresh access token may cure (not a third-party credential problem)."""
    return http_status == 401 and reasons(body)[0] != "THIRD_PARTY_AUTH_ERROR"
