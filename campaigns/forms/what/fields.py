"""Checks shared by the What step's content forms: addresses that may hold Liquid,
JavaScript function names, key-value lines, and where a Liquid error belongs."""

import re

from django import forms
from django.core.validators import URLValidator

# A Liquid output or tag: stands in for "some text" when an address is checked.
LIQUID = re.compile(r"{{.*?}}|{%.*?%}", re.S)
# A dotted path of JavaScript identifiers (``Shop.openCart``): a name the pop-up calls,
# never code — no brackets, calls, operators or spaces (004: "invoke a JavaScript function").
JS_PATH = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
JS_RESERVED = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "await",
        "eval",
        "arguments",
    ]
)
# Names the apps and the service worker read as keys: letters, digits, _ . - (no spaces).
KEY = re.compile(r"[A-Za-z_][\w.-]{0,63}")
# Sound files, categories, channel ids, collapse keys, button ids.
TOKEN = re.compile(r"[\w.:-]+")
MAX_KV = 20


# An app's own deep-link scheme (myapp://cart, RFC 3986 §3.1), for mobile links only.
APP_LINK = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# Schemes that run or embed code or read local files: never a link we send.
UNSAFE_SCHEMES = ("javascript", "data", "vbscript", "file", "blob")


def check_url(value, *, https_only=False, app_links=False):
    """An absolute http(s) address (https only for images and icons; with ``app_links``,
    also an app's own scheme such as ``myapp://cart``, which mobile deep links use). Liquid
    may fill parts of it, but the scheme must be written out so it is known before the send."""
    if not value:
        return
    probe = LIQUID.sub("x", value)
    schemes = ["https"] if https_only else ["http", "https"]
    web = probe.lower().startswith(tuple(f"{scheme}://" for scheme in schemes))
    if app_links and not web:
        if not APP_LINK.fullmatch(probe) or probe.split(":", 1)[0].lower() in UNSAFE_SCHEMES:
            raise forms.ValidationError("Use an app link such as myapp://cart, or an https:// address.")
        return
    if not web:
        raise forms.ValidationError(
            "Use an https:// address." if https_only else "Use an address that starts with https:// or http://."
        )
    try:
        URLValidator(schemes=schemes)(probe)
    except forms.ValidationError:
        raise forms.ValidationError("This is not a valid web address.") from None


def check_js_function(value):
    if not value:
        return
    if not JS_PATH.fullmatch(value) or any(part in JS_RESERVED for part in value.split(".")):
        raise forms.ValidationError(
            "Give the name of a function on your page, like Shop.openCart — letters, digits, _ and $, "
            "parts joined by dots; no brackets or code."
        )


def check_token(value, what):
    if value and not TOKEN.fullmatch(value):
        raise forms.ValidationError(f"{what}: letters, digits and _ . : - only, no spaces.")


def parse_kv(text):
    """``key=value`` lines into a dict (blank lines skipped); values may hold Liquid."""
    pairs = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not KEY.fullmatch(key):
            raise forms.ValidationError(
                f"Line {number}: write key=value; the key starts with a letter or _ and has no spaces."
            )
        if key in pairs:
            raise forms.ValidationError(f"Line {number}: the key “{key}” is there twice.")
        pairs[key] = value.strip()
    if len(pairs) > MAX_KV:
        raise forms.ValidationError(f"At most {MAX_KV} key-value pairs.")
    return pairs


def kv_text(pairs):
    return "\n".join(f"{key}={value}" for key, value in (pairs or {}).items())


# The content lists and the form fields that edit them: buttons.0.title -> button1_title.
LIST_FIELDS = {"buttons": "button", "carousel": "carousel", "linked": "linked"}


def form_field_for(path):
    """The form field a content path of ``delivery.content.check`` is edited in."""
    parts = path.split(".")
    if parts[0] == "kv":
        return "kv"
    if parts[0] in LIST_FIELDS and len(parts) == 3:
        return f"{LIST_FIELDS[parts[0]]}{int(parts[1]) + 1}_{parts[2]}"
    return parts[0]
