from django import forms
from django.db.models import Exists, OuterRef, Q

from accounts.params import is_digits
from segments.actions.imports import FIELDS, MAX_FILE_BYTES, FileProblem, check_file
from segments.models import Device, Profile


class ProfileSearchForm(forms.Form):
    """The Audience page's search box and filters. A value that does not validate
    is ignored rather than refused: a hand-edited URL still lists profiles."""

    REACHABLE = [("", "Any push status"), ("yes", "Reachable by push"), ("no", "Not reachable by push")]
    TEST = [("", "All profiles"), ("only", "Test profiles only"), ("hide", "Without test profiles")]

    q = forms.CharField(label="Search", required=False, max_length=255)
    country = forms.CharField(required=False, max_length=100)
    reachable = forms.ChoiceField(label="Push", choices=REACHABLE, required=False)
    test = forms.ChoiceField(label="Test profiles", choices=TEST, required=False)

    def profiles(self):
        """The matching profiles, unordered."""
        self.is_valid()
        data = self.cleaned_data
        profiles = Profile.objects.all()
        if data.get("q", "").strip():
            profiles = profiles.filter(_matching(data["q"].strip()))
        if data.get("country", "").strip():
            # Exact, as stored: it can use the (country, region, city) index.
            profiles = profiles.filter(country=data["country"].strip())
        if data.get("reachable") == "yes":
            profiles = profiles.filter(Exists(_reachable_devices()))
        elif data.get("reachable") == "no":
            profiles = profiles.filter(~Exists(_reachable_devices()))
        if data.get("test") == "only":
            profiles = profiles.filter(is_test=True)
        elif data.get("test") == "hide":
            profiles = profiles.filter(is_test=False)
        return profiles


def _matching(text):
    """What a search box entry matches.

    Only identity has an index that serves a prefix search (it is unique, and Django
    adds a varchar_pattern_ops index for that on PostgreSQL); name, email and phone
    are read row by row, about half a second to a second over a million profiles.
    So text holding a digit, the shape of an id, is looked up by identity alone and
    answers in milliseconds; digits alone may also be part of a phone number, and
    text with "@" the start of an email address."""
    if text.startswith("+"):
        return Q(phone__startswith=text)
    if "@" in text:
        return Q(identity__startswith=text) | Q(email__istartswith=text)
    if is_digits(text):
        return Q(identity__startswith=text) | Q(phone__contains=text)
    if any(is_digits(char) for char in text):
        return Q(identity__startswith=text)
    return Q(identity__startswith=text) | Q(email__istartswith=text) | Q(name__icontains=text)


def _reachable_devices():
    """A profile's devices that push can reach now: the query form of Device.reachable."""
    web = Device.Platform.WEB
    return Device.objects.filter(
        Q(platform=web) & ~Q(endpoint="") | ~Q(platform=web) & ~Q(token=""),
        profile=OuterRef("pk"),
        push_status=Device.PushStatus.ALLOWED,
        retired_at__isnull=True,
    )


class ProfileImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8, up to {MAX_FILE_BYTES // 1024 // 1024} MB. The first row names the columns: identity "
            f"(required), {', '.join(FIELDS[1:])}; any other column, or properties.<name>, is a custom "
            "property. An empty cell leaves that value as it is."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.rows = check_file(upload)
        except FileProblem as exc:
            raise forms.ValidationError(str(exc), code="unreadable") from None
        return upload
