"""The forms of the access pages: a request, an approval (with its mask field), and the
reasons of clear, reject, deny, withdraw and revoke.

Each field is checked by the services' own rules (`access.services.clean_*`), every field at
once, so a page reports all its errors together and shows back everything that was sent; the
service checks again when it acts, under the request's row lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings

from access import rowfilter, services
from access.models import AccessRequest, Grant
from catalog.models import DatasetVersion
from portal.errors import DomainError

T = TypeVar("T")


def _by_the_rules(check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`check(*args, **kwargs)`, its DomainError a form's ValidationError."""
    try:
        return check(*args, **kwargs)
    except DomainError as exc:
        raise forms.ValidationError(exc.messages, code=exc.code) from None


def add_refusal(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal shown on `form`: beside its field if the form has it."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.messages)


# --- the mask field ------------------------------------------------------------------------


def _mask_kinds(column_type: str) -> list[tuple[str, str]]:
    kinds = [("", "none"), ("pseudonymize", "pseudonymize"), ("truncate", "truncate to N")]
    if column_type in ("date", "timestamp"):
        kinds.append(("year_only", "year only"))
    return kinds


class MaskWidget(forms.Widget):
    """One mask per column: a select `mask-<column>` (none, pseudonymize, truncate, and year
    only for dates) and the N of truncate in `mask-n-<column>`. Its value is the mapping
    {column: spec} of the masked columns, specs as the API takes them (`truncate:N`).

    Iterating the bound field gives one subwidget per column (`column`, `type`, `kind`, `n`),
    for pages that lay the masks out beside other per-column inputs."""

    template_name = "access/widgets/masks.html"
    column_template_name = "access/widgets/mask.html"

    def __init__(self, columns: list[tuple[str, str]], attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        self.columns = columns  # (name, type) in file order

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, str]:
        masks = {}
        for column, _ in self.columns:
            kind = (data.get(f"mask-{column}") or "").strip()
            if kind == "truncate":
                kind = f"truncate:{(data.get(f'mask-n-{column}') or '').strip()}"
            if kind:
                masks[column] = kind
        return masks

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # no mask chosen is a value: none

    def subwidgets(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        chosen = value or {}
        for column, column_type in self.columns:
            kind, _, n = chosen.get(column, "").partition(":")
            yield {
                "template_name": self.column_template_name,
                "name": f"mask-{column}",
                "n_name": f"mask-n-{column}",
                "column": column,
                "type": column_type,
                "kind": kind,
                "n": n,
                "kinds": _mask_kinds(column_type),
                "max_n": services.MAX_TRUNCATE,
                "attrs": {},
            }

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["subwidgets"] = list(self.subwidgets(name, value, attrs))
        return context


class MaskField(forms.Field):
    """{column: mask spec} for `columns` [(name, type)], each spec checked by
    `services.clean_mask`; every column's error is reported, not only the first."""

    def __init__(self, *, columns: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(widget=MaskWidget(columns), **kwargs)
        self.types = dict(columns)

    def to_python(self, value: Any) -> dict[str, str]:
        return dict(value or {})

    def clean(self, value: Any) -> dict[str, str]:
        masks = self.to_python(value)
        cleaned, errors = {}, []
        for column, spec in masks.items():  # the widget reads only `columns`
            try:
                cleaned[column] = _by_the_rules(
                    services.clean_mask, column, spec, self.types[column]
                )
            except forms.ValidationError as exc:
                errors.append(exc)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


# --- request and approval ------------------------------------------------------------------


class RequestForm(forms.Form):
    """Ask for a view of a listing's current version (`version`)."""

    purpose = forms.CharField(
        required=False,  # the service's rule says what is missing
        label="Purpose",
        widget=forms.Textarea(
            attrs={"rows": 3, "required": True, "minlength": settings.ACCESS_PURPOSE_MIN_CHARS}
        ),
    )
    columns = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    filter = forms.CharField(
        required=False,
        label="Row filter",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "aria-describedby": "filter-help filter-check"}
        ),
    )
    duration_days = forms.IntegerField(
        label="Duration in days",
        error_messages={
            "required": "Give the duration as a whole number of days.",
            "invalid": "Give the duration as a whole number of days.",
        },
    )

    def __init__(self, *args: Any, version: DatasetVersion | None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.version = version
        names = version.column_names if version else []
        cast(forms.MultipleChoiceField, self.fields["columns"]).choices = [(c, c) for c in names]
        self.fields["columns"].initial = names
        self.fields["duration_days"].initial = 90
        self.fields["duration_days"].widget.attrs.update(
            {"min": 1, "max": settings.ACCESS_MAX_DAYS}
        )

    def clean_purpose(self) -> str:
        return _by_the_rules(services.clean_purpose, self.cleaned_data["purpose"])

    def clean_columns(self) -> list[str]:
        names = self.version.column_names if self.version else []
        return _by_the_rules(
            services.clean_columns, self.cleaned_data["columns"], names, what="this dataset"
        )

    def clean_duration_days(self) -> int:
        return _by_the_rules(
            services.clean_duration,
            self.cleaned_data["duration_days"],
            most=settings.ACCESS_MAX_DAYS,
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.version is None:
            raise forms.ValidationError("This listing has no data yet.")
        # With no valid columns, the filter is still checked against all of them.
        columns = data.get("columns", self.version.column_names)
        try:
            services.parse_request_filter(data.get("filter", ""), self.version.columns, columns)
        except DomainError as exc:
            self.add_error("filter", exc.messages)
        return data


class ApproveForm(forms.Form):
    """A steward's approval of `request`, perhaps narrowed: fewer columns, an extra row
    condition AND-ed with the requested filter, masks, a shorter term."""

    columns = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    extra_filter = forms.CharField(
        required=False,
        label="Extra row condition",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    duration_days = forms.IntegerField(
        required=False,  # the term asked for
        label="Duration in days",
        error_messages={"invalid": "Give the duration as a whole number of days."},
        widget=forms.NumberInput(attrs={"id": "approve-days", "min": 1}),
    )

    def __init__(self, *args: Any, request: AccessRequest, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.request = request
        self.types = {c["name"]: c["type"] for c in request.version.columns}
        cast(forms.MultipleChoiceField, self.fields["columns"]).choices = [
            (c, c) for c in request.columns
        ]
        self.fields["columns"].initial = list(request.columns)
        self.fields["masks"] = MaskField(
            columns=[(c, self.types[c]) for c in request.columns], label="Masks"
        )
        self.fields["duration_days"].initial = request.duration_days
        self.fields["duration_days"].widget.attrs["max"] = request.duration_days

    def clean_columns(self) -> list[str]:
        return _by_the_rules(
            services.clean_columns,
            self.cleaned_data["columns"],
            self.request.columns,
            what="this request",
        )

    def clean_duration_days(self) -> int | None:
        days = self.cleaned_data["duration_days"]
        if days is None:
            return None
        return _by_the_rules(services.clean_duration, days, most=self.request.duration_days)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        schema = self.request.version.columns
        try:
            combined = rowfilter.combine(self.request.filter, data.get("extra_filter", ""), schema)
        except DomainError as exc:
            self.add_error("extra_filter", exc.messages)
            combined = None
        columns, masks = data.get("columns"), data.get("masks")
        if columns is None or masks is None:
            return data
        try:
            services.clean_masks(masks, columns, self.types)
            if combined is not None:
                services.check_filter_columns(combined, schema, columns, masks)
        except DomainError as exc:
            add_refusal(self, exc)
        return data

    @property
    def approval(self) -> services.Approval:
        data = self.cleaned_data
        return services.Approval(
            columns=data["columns"],
            extra_filter=data["extra_filter"],
            masks=data["masks"],
            duration_days=data["duration_days"],
        )


# --- reasons -------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    """A reason the action needs (reject, deny, revoke)."""

    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why, in a few words."},
    )

    def clean_reason(self) -> str:
        return _by_the_rules(services.clean_reason, self.cleaned_data["reason"])


class NoteForm(forms.Form):
    """An optional note (clear, withdraw)."""

    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def revoke_form(grant: Grant, data: Any = None) -> ReasonForm:
    """The revoke form of one row of the grants page (its ids name the grant)."""
    return ReasonForm(data, auto_id=f"revoke-{grant.pk}-%s")
