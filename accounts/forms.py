from django import forms

from accounts import roles


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(role, role) for role in roles.ROLES])
