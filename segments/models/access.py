"""Who may send data in: secret API keys for servers, publishable site keys for the web SDK."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models

from accounts.encryption import EncryptedTextField


class ApiKey(models.Model):
    """A secret key for the JSON API. Only its SHA-256 is stored: the key is random
    (256 bits), so a fast hash is as safe as a slow one, and it keeps every request's
    check cheap. The prefix stays visible so people can tell keys apart."""

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(default=600, help_text="Requests a minute before 429.")

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} (clk_{self.prefix}…)"

    @staticmethod
    def hash(key):
        return hashlib.sha256(key.encode()).hexdigest()

    def issue(self):
        """Give this (unsaved) key its secret. Returns the full key, which is shown
        once and never stored."""
        self.prefix = secrets.token_hex(self.PREFIX_LENGTH // 2)
        full_key = f"clk_{self.prefix}_{secrets.token_urlsafe(32)}"
        self.hashed_key = self.hash(full_key)
        return full_key


class Site(models.Model):
    """A website that runs the web SDK. Its key is publishable (it sits in the page's
    HTML); what protects the SDK endpoints is the Origin check and the rate limit,
    and what lets a page speak for a person is the identity hash."""

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=40, unique=True, editable=False)
    allowed_origins = models.JSONField(
        default=list, blank=True, help_text="Origins allowed to use this key, e.g. https://shop.example.com"
    )
    # The key is public, so only the site's server can say who is on a page: it
    # signs each identity it puts there (identityHash). With verification off, an
    # unsigned identify() may still link a browser to an identity nobody has yet
    # (segments.actions.devices.identify), never to a known person. On for new
    # sites; sites made before it became the default keep what they had (0005).
    verify_identity = models.BooleanField(
        default=True,
        help_text="identify() must carry identityHash, an HMAC-SHA256 of the identity made by your server.",
    )
    # Signs identify() for any person of the site: stored encrypted like the push credentials.
    identity_secret = EncryptedTextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.key:
            self.key = f"pk_{secrets.token_urlsafe(18)}"
        if not self.identity_secret:
            self.identity_secret = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    def allows(self, origin):
        return origin in self.allowed_origins

    def identity_hash(self, identity):
        """What the site's server computes: hex HMAC-SHA256 of the identity."""
        return hmac.new(self.identity_secret.encode(), identity.encode(), hashlib.sha256).hexdigest()

    def vouches_for(self, identity, identity_hash):
        """Whether ``identity_hash`` is this site's signature of ``identity``."""
        # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        return hmac.compare_digest(self.identity_hash(identity).encode(), (identity_hash or "").encode())
