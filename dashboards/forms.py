"""The dashboards' filters: a date range, and on the usage page an institution."""

from __future__ import annotations

from typing import Any

from django import forms

from consortium.selectors import InstitutionChoice
from dashboards.selectors import Period


class PeriodForm(forms.Form):
    since = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range must not be before its start.")
        return cleaned

    def period(self) -> Period:
        if not self.is_valid():
            return Period()
        return Period(self.cleaned_data.get("since"), self.cleaned_data.get("until"))


class UsageForm(PeriodForm):
    """The range and the institution, chosen by slug among `institutions` (read beforehand,
    `selectors.institution_choices`: the form itself queries nothing)."""

    institution = forms.ChoiceField(
        required=False,
        error_messages={
            "invalid_choice": "Select a valid choice. That choice is not one of the "
            "available choices."
        },
    )

    def __init__(self, data: Any = None, *, institutions: list[InstitutionChoice]) -> None:
        super().__init__(data)
        self._by_slug = {i.slug: i for i in institutions}
        field = self.fields["institution"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "All institutions"), *((i.slug, i.name) for i in institutions)]

    def chosen_institution(self) -> InstitutionChoice | None:
        if not self.is_valid():
            return None
        return self._by_slug.get(self.cleaned_data.get("institution") or "")
