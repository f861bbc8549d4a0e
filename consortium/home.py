"""The home page is assembled from sections each app owns (issue 15).

An app that has something waiting for a person registers, from its `AppConfig.ready`, a
function returning its sections and, if its figures change with the clock rather than with a
write, a function returning the next such moment. The consortium imports none of them: the
arrows point from the apps to this module, never back.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Sections = Callable[..., list["HomeSection"]]
ValidUntil = Callable[..., datetime | None]


@dataclass
class HomeItem:
    label: str
    count: int | None = None
    url: str | None = None


@dataclass
class HomeSection:
    title: str
    items: list[HomeItem] = field(default_factory=list)


@dataclass(frozen=True)
class _Provider:
    order: int
    sections: Sections
    valid_until: ValidUntil | None


_providers: dict[str, _Provider] = {}


def register(
    app_label: str, *, order: int, sections: Sections, valid_until: ValidUntil | None = None
) -> None:
    """Add `app_label`'s sections, placed by `order` after the consortium's own.

    Keyed by app, so a second `ready()` (the test runner calls it again) replaces, not repeats.
    """
    _providers[app_label] = _Provider(order, sections, valid_until)


def provided_sections(user: Any) -> list[HomeSection]:
    found: list[HomeSection] = []
    for provider in sorted(_providers.values(), key=lambda p: p.order):
        found.extend(provider.sections(user=user))
    return found


def provided_moments(user: Any) -> list[datetime | None]:
    return [p.valid_until(user=user) for p in _providers.values() if p.valid_until is not None]
