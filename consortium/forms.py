from django import forms
from django.contrib.auth.forms import AuthenticationForm

from consortium.models import Membership


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, label="Role")


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        label="Name (optional)",
        help_text="What the token is for, e.g. “nightly export”, so you know which to revoke.",
    )
