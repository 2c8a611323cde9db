from urllib.parse import urlsplit

from django import forms

from segments.models import ApiKey, Site


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "rate_per_minute"]
        labels = {"rate_per_minute": "Requests a minute"}


class SiteForm(forms.ModelForm):
    origins = forms.CharField(
        label="Allowed origins",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, e.g. https://shop.example.com",
    )

    class Meta:
        model = Site
        fields = ["name"]

    def clean_origins(self):
        origins = []
        for line in self.cleaned_data["origins"].split():
            parts = urlsplit(line.strip())
            local = parts.hostname in ("localhost", "127.0.0.1")
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
                raise forms.ValidationError(f"{line} is not an origin: write scheme and host, e.g. https://example.com")
            if parts.scheme == "http" and not local:
                # Browsers only allow push on secure origins (and localhost for testing).
                raise forms.ValidationError(f"{line}: web push needs https (http only for localhost)")
            origins.append(f"{parts.scheme}://{parts.netloc}")
        if not origins:
            raise forms.ValidationError("Give at least one origin.")
        return origins
