"""What each code on a message means, in words a marketer reads: the Errors tab, a test send's
recipients, the campaign page's waiting messages. One table, here in delivery because delivery
records the codes (stats and campaigns read it from here: imports flow downward).

The provider codes are those of seed 003 (``003_5fa3a9527161ed4d.txt``) that the providers in
``delivery/providers/`` record; the others are the pipeline's own (``delivery/actions/``):
messages it did not send on purpose, or could not build. A message's ``error_detail`` adds what
the code cannot say (the HTTP status, the render error, the Linked Content URL).
"""

MEANINGS = {
    # APNs
    "apns_auth_error": "Invalid APNs key or certificate, or APNs refused our provider token.",
    "apns_toomany_same_token": "Too many requests were made for the same device token.",
    "apns_unknown": "General APNs error.",
    "apns_token_format": "The APNs device token is malformed or no longer valid.",
    "apns_temp_blacklist": "The APNs account or topic is temporarily blocked.",
    "apns_empty_payload": "The APNs payload was empty.",
    # Web Push (VAPID)
    "bad_params": "One or more of the parameters sent to the push service was invalid.",
    "bad_auth": "The authorization (VAPID) header was invalid or missing.",
    "end_point_invalid": "The device's push subscription is unknown to its push service (expired or invalid).",
    "token_invalid": "The subscription's keys are invalid.",
    "server_issue": "The push service had an internal error.",
    "browser_unsubscribed": "The device's push subscription has expired or the person unsubscribed.",
    "dispatch_failed": "The push service could not be reached or kept refusing (too many requests).",
    "payload_too_large": "The message is larger than the 4 KB push services accept.",
    "gcm_ia": "Invalid FCM key.",
    # FCM
    "gcm_others": "Unknown FCM error.",
    "fcm_invalid_argument": "FCM found an argument of the message invalid.",
    "fcm_sending_rate_exceeded": "The sending rate allowed by FCM was exceeded.",
    "fcm_oauth2_token_expired": "FCM refused our OAuth2 token (expired or revoked credentials).",
    "gcm_msi": "Wrong FCM credentials (sender mismatch or none configured).",
    "push_unreg": "The app was uninstalled or the token unregistered.",
    "fcm_internal_server_error": "FCM had an internal error.",
    # Not technical: Clarion decided not to send.
    "frequency_cap": "Not sent: the person had reached the global frequency cap.",
    "dnd_discarded": "Not sent: it fell in the campaign's Do Not Disturb hours, set to discard.",
    "cutoff_passed": "Not sent: the campaign's cut-off time passed before it could go.",
    "stopped": "Not sent: the campaign was stopped first.",
    "unreachable": "Not sent: the device could no longer receive push (blocked, retired or no subscription).",
    "safety_check": "Not sent: more people qualified than the campaign's safety limit allows.",
    "render_failed": "Not sent: the personalisation could not be rendered for this person.",
    "linked_content_failed": "Not sent: the linked content could not be fetched.",
    "safari_excluded": "Not sent: the message is for all browsers but Safari, and this device is Safari.",
}
NON_TECHNICAL = frozenset(
    {"frequency_cap", "dnd_discarded", "cutoff_passed", "stopped", "unreachable", "safety_check", "safari_excluded"}
)
# Codes whose detail already says it all, in words ("Linked Content https://…: timed out …").
SAID_BY_DETAIL = frozenset({"render_failed", "linked_content_failed"})


def meaning(code):
    return MEANINGS.get(code, "Unrecorded reason." if not code else f"Code {code}.")


def reason(code, detail=""):
    """One message's outcome in words: the code's meaning and the message's own detail."""
    if detail and code in SAID_BY_DETAIL:
        return f"Not sent: {detail}"
    text = meaning(code)
    return f"{text[:-1]} ({detail})." if detail and text.endswith(".") else f"{text} {detail}".strip()


def bounded(text, length=300):
    """``text`` on one line, at most ``length`` characters (``Message.error_detail``)."""
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"
