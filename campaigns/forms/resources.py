"""A push resource's form: its name, and its content through the What step's own content
form for the channel (``campaigns.forms.what.CONTENT_FORMS``), so a resource is valid
exactly when a variant with the same fields would be."""

from django import forms

from campaigns.forms.what import CONTENT_FORMS
from campaigns.models import PushResource

PREFIX = "c"
# A variant's place in its message type, not part of its content.
NOT_CONTENT = ("property_value", "share")


def content_form(channel, data=None, *, content=None):
    """The What step's content form for ``channel`` without the variant-only fields."""
    form_class = CONTENT_FORMS[channel]
    if data is not None:
        form = form_class(data, prefix=PREFIX)
    else:
        form = form_class(prefix=PREFIX, initial=form_class.initial_for(content or {}))
    for name in NOT_CONTENT:
        del form.fields[name]
    return form


class NameForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, strip=True)

    def __init__(self, *args, resource, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource = resource

    def clean_name(self):
        name = self.cleaned_data["name"]
        taken = PushResource.objects.filter(name__iexact=name).exclude(pk=self.resource.pk)
        if taken.exists():
            raise forms.ValidationError("Another push resource has this name.")
        return name

    def add_error(self, field, error):
        super().add_error(field, error)
        if field in self.fields:
            self.fields[field].widget.attrs["aria-invalid"] = "true"


class ResourceForm:
    """``ResourceForm(resource)`` shows it; ``ResourceForm(resource, data)`` validates a post."""

    def __init__(self, resource, data=None):
        self.resource = resource
        self.names = NameForm(data, resource=resource, initial={"name": resource.name})
        self.content = content_form(resource.channel, data, content=resource.content)

    def is_valid(self):
        names_valid = self.names.is_valid()
        return self.content.is_valid() and names_valid

    @property
    def values(self):
        """The validated name and content, as ``do_save_resource`` takes them."""
        return {"name": self.names.cleaned_data["name"], "content": dict(self.content.content)}
