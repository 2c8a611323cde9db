"""How an APNs answer becomes a Clarion error code (APNs codes of the seed 003_5fa3a9527161ed4d.txt).

APNs answers an error with a status and a JSON body ``{"reason": …}`` (and a ``timestamp`` for
410). The reasons and their meaning are Apple's "Handling notification responses from APNs",
https://developer.apple.com/documentation/usernotifications/handling-error-responses-from-apns

  status  reason                        code                     outcome  retire  why
  200     -                             -                        sent     no      accepted
  400     BadDeviceToken                apns_token_format        failed   yes     not a token of this environment
  410     Unregistered, ExpiredToken    apns_token_format        failed   yes     the app is gone from the device;
                                                                                  the seed has no "unregistered" code
                                                                                  for APNs, and "token invalid" is
                                                                                  closer than "general error"
  400     PayloadEmpty                  apns_empty_payload       failed   no      nothing to show
  403     ExpiredProviderToken,         apns_auth_error          failed   no      the shared token is reissued and
          InvalidProviderToken                                                    the push retried once first
  403     MissingProviderToken,         apns_auth_error          failed   no      our credentials are wrong
          BadCertificate, BadCertificateEnvironment, Forbidden, InvalidProviderToken,
          UnrelatedKeyIdInToken, BadEnvironmentKeyIdInToken
  429     TooManyProviderTokenUpdates   apns_auth_error          retry    no      the token was replaced too often
  400     TopicDisallowed               apns_temp_blacklist      failed   no      Apple refuses pushes to this app;
                                                                                  the seed's "account blacklisted"
  429     TooManyRequests               apns_toomany_same_token  retry    no      too many pushes to one device
  500     InternalServerError           apns_unknown             retry    no      Apple's side failed
  503     ServiceUnavailable, Shutdown  apns_unknown             retry    no      Apple's side is busy or closing
  other   (any other reason)            apns_unknown             failed   no      not worth repeating as it is
  none    timeout, connection refused   apns_unknown             retry    no      no answer: try again later
  none    no provider token to be had   apns_auth_error          retry    no      the issuing worker is stuck
"""

from delivery.providers.base import Answer, Outcome

SENT = Answer("", Outcome.SENT)
AUTH_ERROR = Answer("apns_auth_error", Outcome.FAILED)
BAD_TOKEN = Answer("apns_token_format", Outcome.FAILED, retire_device=True)
EMPTY_PAYLOAD = Answer("apns_empty_payload", Outcome.FAILED)
UNKNOWN = Answer("apns_unknown", Outcome.FAILED)
SERVER_ISSUE = Answer("apns_unknown", Outcome.RETRY)
NO_ANSWER = Answer("apns_unknown", Outcome.RETRY)
NO_TOKEN = Answer("apns_auth_error", Outcome.RETRY)  # another worker holds the token lock too long

# Reasons after which the shared provider token is replaced and the push sent once more.
TOKEN_REJECTED = {"ExpiredProviderToken", "InvalidProviderToken"}

REASONS = {
    "BadDeviceToken": BAD_TOKEN,
    "Unregistered": BAD_TOKEN,
    "ExpiredToken": BAD_TOKEN,
    "PayloadEmpty": EMPTY_PAYLOAD,
    "ExpiredProviderToken": AUTH_ERROR,
    "InvalidProviderToken": AUTH_ERROR,
    "MissingProviderToken": AUTH_ERROR,
    "BadCertificate": AUTH_ERROR,
    "BadCertificateEnvironment": AUTH_ERROR,
    "Forbidden": AUTH_ERROR,
    "UnrelatedKeyIdInToken": AUTH_ERROR,
    "BadEnvironmentKeyIdInToken": AUTH_ERROR,
    "TooManyProviderTokenUpdates": Answer("apns_auth_error", Outcome.RETRY),
    "TopicDisallowed": Answer("apns_temp_blacklist", Outcome.FAILED),
    "TooManyRequests": Answer("apns_toomany_same_token", Outcome.RETRY),
    "InternalServerError": SERVER_ISSUE,
    "ServiceUnavailable": SERVER_ISSUE,
    "Shutdown": SERVER_ISSUE,
}


def answer_for(status, reason):
    if status == 200:
        return SENT
    if reason in REASONS:
        return REASONS[reason]
    if status >= 500:
        return SERVER_ISSUE
    return UNKNOWN
