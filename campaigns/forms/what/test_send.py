from django import forms

from segments.models import Profile

MAX_TEST_PROFILES = 50


class TestSendForm(forms.Form):
    """Which saved variant goes to which test profiles."""

    __test__ = False  # a name pytest would otherwise take for a test class

    test_variant = forms.ChoiceField(label="Variant", required=False)
    test_profiles = forms.ModelMultipleChoiceField(
        label="Test profiles",
        queryset=Profile.objects.filter(is_test=True).order_by("name", "identity"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one test profile."},
    )

    def __init__(self, *args, entries, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["test_variant"].choices = [
            (entry.key, entry.name or f"Variant {index + 1}") for index, entry in enumerate(entries)
        ]
        self.positions = {entry.key: index for index, entry in enumerate(entries)}

    def position(self):
        """The chosen variant's position among the saved variants (the first when none is chosen)."""
        return self.positions.get(self.cleaned_data.get("test_variant"), 0)
