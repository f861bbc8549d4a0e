from django import forms

from catalog import limits
from catalog.models import Dataset
from catalog.services import clean_tags
from portal.errors import DomainError


class MetadataForm(forms.Form):
    title = forms.CharField(max_length=limits.TITLE_CHARS)
    description = forms.CharField(
        max_length=limits.DESCRIPTION_CHARS, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.ChoiceField(choices=Dataset.Category.choices)
    sensitivity = forms.ChoiceField(
        choices=Dataset.Sensitivity.choices,
        help_text="Confidential and restricted datasets: every request is first cleared by a "
        "consortium moderator.",
    )
    terms = forms.CharField(
        label="Terms of use",
        max_length=limits.TERMS_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tags = forms.CharField(
        max_length=limits.TAGS_TEXT_CHARS,
        required=False,
        help_text="Words separated by commas, e.g. loans, sme, 2025.",
    )

    def clean_tags(self) -> list[str]:
        try:
            return clean_tags(self.cleaned_data["tags"].split(","))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


class PublishForm(MetadataForm):
    file = forms.FileField(
        allow_empty_file=True,
        label="CSV file",
        help_text="UTF-8 text with a header row of unique column names.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    field_order = ["file", "title", "description", "category", "sensitivity", "terms", "tags"]


class VersionForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,
        label="CSV file",
        help_text="The new data for this listing; earlier versions stay available to their grants.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why, in a few words."},
    )
