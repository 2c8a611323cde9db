"""What a rendered message looks like on the wire, per platform, and how big it gets.

``build_payload`` turns content already rendered for one profile (``delivery.content.render``;
keys in that module's docstring) into the dict a provider sends:

  web      the JSON ``static/sdk/clarion-sw.js`` reads: {title, body, icon, image, tag,
           requireInteraction, actions: [{action, title, url}], data: {url, message_id, kv…}}
  android  what ``providers/fcm`` takes: title, body, image go to FCM's ``notification``;
           channel_id, sound, icon, tag to ``android.notification``; ``data`` (strings) the rest
  ios      an APNs payload ``providers/apns`` sends as it is: {aps: {alert, badge, sound,
           category, mutable-content, content-available}, url, message_id, kv…}

The notification ``tag`` (web, Android) is made from the collapse key, so a message sent
twice (DESIGN.md "at-least-once with collapse") replaces itself on the device. Empty values
are left out: every byte counts against the 4096 the push services accept.
"""

import json
import re
from json.encoder import encode_basestring

from accounts.params import LARGEST, int_between

# RFC 8030 §7.2 (Web Push, encrypted body), FCM and APNs (payload) all stop at 4 KB.
MAX_PUSH_BYTES = 4096

# RFC 8291 §4 with one record: the aes128gcm header (salt 16, record size 4, key id length 1,
# the sender's public key 65) is 86 bytes; the record adds a padding delimiter byte and the
# 16-byte AEAD tag to the plaintext.
AES128GCM_HEADER = 86
AES128GCM_RECORD_OVERHEAD = 1 + 16

PLATFORMS = ("web", "android", "ios")


# json.dumps with options makes a new encoder per call: a third of its time on a push's payload.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def payload_bytes(payload):
    """The JSON the providers send (the Web Push provider encrypts exactly these bytes)."""
    return _encode(payload).encode()


def encrypted_size(payload):
    """Bytes of the aes128gcm body a web push of ``payload`` becomes (RFC 8291, one record)."""
    return AES128GCM_HEADER + len(payload_bytes(payload)) + AES128GCM_RECORD_OVERHEAD


def notification_tag(collapse_key):
    return f"clarion-{collapse_key}"


def build_payload(platform, rendered_content, *, message_id, collapse_key):
    if platform == "web":
        return _web(rendered_content, message_id, collapse_key)
    if platform == "android":
        return _android(rendered_content, message_id, collapse_key)
    if platform == "ios":
        return _ios(rendered_content, message_id)
    raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}; got {platform!r}")


# Put in a web payload's template where each message's own values go (``Payloads``): NUL
# characters, which JSON writes as \u0000, so the marks are found in the template's JSON.
KEY_MARK = "\x00collapse-key\x00"
ID_MARK = "\x00message-id\x00"
MARKS = re.compile(re.escape(encode_basestring(KEY_MARK)[1:-1]) + "|" + re.escape(encode_basestring(ID_MARK)))


class Payloads:
    """``build_payload`` and ``payload_bytes`` for the messages of a batch: (payload, its JSON
    bytes), the same as those two make. A web payload differs between the messages of one
    rendered content only in its notification tag (from the collapse key) and message id, so
    per content it is built and written to JSON once, with marks in those two places, and
    per message the dict is copied and the JSON pieced together around the two values
    (bench/send.py: building and writing the payload was a fifth of the sending thread's CPU).
    ``content`` is kept by identity: the renderer hands out the same dict for every message
    that renders alike. Other platforms, and values the marks cannot stand for, are built as
    before."""

    def __init__(self):
        self.templates = {}  # id(content) -> (content, template payload, JSON pieces) or (content, None)

    def build(self, platform, content, *, message_id, collapse_key):
        if platform == "web" and type(message_id) is int and isinstance(collapse_key, str) and collapse_key:
            kept = self.templates.get(id(content))
            if kept is None or kept[0] is not content:
                kept = self.templates[id(content)] = (content, *_web_template(content))
            _, template, pieces = kept
            if template is not None:
                payload = dict(template)
                payload["tag"] = notification_tag(collapse_key)
                payload["data"] = data = dict(template["data"])
                data["message_id"] = message_id
                values = {KEY_MARK: encode_basestring(collapse_key)[1:-1], ID_MARK: str(message_id)}
                text = "".join(values.get(piece, piece) for piece in pieces)
                return payload, text.encode()
        payload = build_payload(platform, content, message_id=message_id, collapse_key=collapse_key)
        return payload, payload_bytes(payload)


def _web_template(content):
    """(the web payload of ``content`` with the marks, its JSON as pieces: text and marks in
    order), or (None, None) when the marks are not found exactly once each (the content
    itself holds one)."""
    template = _web(content, ID_MARK, KEY_MARK)
    pieces, at = [], 0
    text = _encode(template)
    for found in MARKS.finditer(text):
        pieces += [text[at : found.start()], KEY_MARK if found.group() != encode_basestring(ID_MARK) else ID_MARK]
        at = found.end()
    pieces.append(text[at:])
    if sorted(piece for piece in pieces if piece in (KEY_MARK, ID_MARK)) != sorted([KEY_MARK, ID_MARK]):
        return None, None
    return template, pieces


def _present(mapping):
    return {key: value for key, value in mapping.items() if value not in (None, "", [], {}, False)}


def _data(content, message_id):
    """Key-values first: the url and message id the service worker and apps rely on win."""
    data = {str(key): value for key, value in (content.get("kv") or {}).items()}
    data.update(_present({"url": content.get("url")}))
    data["message_id"] = message_id
    return data


def _web(content, message_id, collapse_key):
    actions = [
        _present({"action": f"button-{index}", "title": button.get("title"), "url": button.get("url")})
        for index, button in enumerate((content.get("buttons") or [])[:2], start=1)
        if button.get("title")
    ]
    payload = _present(
        {
            "title": content.get("title"),
            "body": content.get("body"),
            "icon": None if content.get("no_icon") else content.get("icon"),
            "image": content.get("image"),
            "tag": notification_tag(collapse_key) if collapse_key not in (None, "") else None,
            "requireInteraction": bool(content.get("require_interaction")),
            "actions": actions,
        }
    )
    payload["data"] = _data(content, message_id)
    return payload


def _android(content, message_id, collapse_key):
    data = _data(content, message_id)
    data.update(
        _present(
            {
                "subtitle": content.get("subtitle"),
                "buttons": content.get("buttons"),
                "carousel": content.get("carousel"),
            }
        )
    )
    payload = _present(
        {
            "title": content.get("title"),
            "body": content.get("body"),
            "image": content.get("image"),
            "channel_id": content.get("android_channel_id"),
            "sound": content.get("sound"),
            "tag": notification_tag(collapse_key) if collapse_key not in (None, "") else None,
        }
    )
    payload["data"] = data
    return payload


def _badge(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int_between(value.strip(), 0, LARGEST)
    return None


def _ios(content, message_id):
    alert = _present({"title": content.get("title"), "subtitle": content.get("subtitle"), "body": content.get("body")})
    aps = _present(
        {
            "alert": alert,
            "sound": content.get("sound"),
            "category": content.get("category"),
            "mutable-content": 1 if content.get("mutable_content") or content.get("ios_media_url") else None,
        }
    )
    badge = _badge(content.get("badge"))
    if badge is not None:
        aps["badge"] = badge  # 0 is meaningful: it clears the badge
    if content.get("content_available") or not ({"alert", "badge", "sound"} & set(aps)):
        # Apple: a push with nothing to show is a background push and must say so.
        aps["content-available"] = 1
    payload = {"aps": aps, **_data(content, message_id)}
    payload.update(
        _present(
            {
                "media_url": content.get("ios_media_url") or content.get("image"),
                "media_type": content.get("ios_media_type"),
                "buttons": content.get("buttons"),
                "carousel": content.get("carousel"),
            }
        )
    )
    return payload
