"""Forms collect and type the input; the rules live in surveys/services.py."""

from __future__ import annotations

from django import forms

from consortium.models import Institution
from surveys.models import Survey
from surveys.services import MAX_OPTIONS, MAX_TEXT, OptionInput

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class AnswerForm(forms.Form):
    option = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect,
        label="Your answer",
        error_messages={"required": "Choose one of the answers."},
    )
    text = forms.CharField(
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="In your own words",
    )

    def __init__(self, *args: object, survey: Survey, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        options = list(survey.options.all())
        self.fields["option"].choices = [(o.pk, o.label) for o in options]
        free = next((o for o in options if o.takes_text), None)
        if free is None:
            del self.fields["text"]
        else:
            self.fields["text"].help_text = f"Needed when you choose “{free.label}”."


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


class SurveyForm(forms.Form):
    title = forms.CharField(max_length=120, help_text="Short: shown in lists and on the dashboard.")
    question = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    opens_at = _datetime_field("Opens (UTC)")
    closes_at = _datetime_field("Closes (UTC)")
    audience = forms.ChoiceField(
        choices=Survey.Audience.choices, widget=forms.RadioSelect, label="Who answers"
    )
    institutions = forms.ModelMultipleChoiceField(
        queryset=Institution.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Chosen institutions",
        help_text="Only when the audience is “chosen institutions only”.",
    )

    @classmethod
    def initial_for(cls, survey: Survey) -> dict[str, object]:
        return {
            "title": survey.title,
            "question": survey.question,
            "opens_at": survey.opens_at,
            "closes_at": survey.closes_at,
            "audience": survey.audience,
            "institutions": list(survey.institutions.all()),
        }


class OptionForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    label = forms.CharField(max_length=200, required=False, label="Answer")
    takes_text = forms.BooleanField(required=False, label="Takes free text (like “other”)")
    order = forms.IntegerField(required=False, min_value=1, max_value=100, label="Order")
    remove = forms.BooleanField(required=False, label="Remove")


OptionFormSet = forms.formset_factory(
    OptionForm, extra=2, max_num=MAX_OPTIONS, validate_max=True, absolute_max=MAX_OPTIONS + 5
)


def options_from(formset: forms.BaseFormSet) -> list[OptionInput]:
    """The options in the order asked for: by `order` where given, else as listed. Blank new
    rows are skipped; a row ticked `remove` is left out, which the service refuses if answered."""
    rows = []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data
        if not data or data.get("remove"):
            continue
        if data.get("id") is None and not (data.get("label") or "").strip():
            continue
        order = data.get("order") or (1000 + index)
        option = OptionInput(
            label=data.get("label") or "",
            takes_text=bool(data.get("takes_text")),
            id=data.get("id"),
        )
        rows.append((order, index, option))
    return [option for _, _, option in sorted(rows, key=lambda r: (r[0], r[1]))]
