from typing import Any

from django import forms


class WitnessForm(forms.Form):
    # The view passes who may register.
    institution: "forms.ModelChoiceField[Any]" = forms.ModelChoiceField(queryset=None)
    url = forms.URLField(
        assume_scheme="https",
        label="Witness URL",
        help_text=(
            "Where your witness listens, an https:// address on the internet (loopback,"
            " private and link-local addresses are refused); checkpoints are sent to"
            " URL/add-checkpoint."
        ),
        max_length=200,
    )
    vkey = forms.CharField(
        label="Witness verifier key",
        help_text="The line `python -m tools.bizi_witness keygen` printed: name+keyid+key.",
        max_length=300,
    )

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
        if institutions.count() == 1:
            self.fields["institution"].initial = institutions.first()
