"""What other apps add to access without access importing them (issue 15).

Apps above access (sharing today) hook in from their `AppConfig.ready`:

- `grant_approved` is sent inside the approval's transaction with the new grant, so a receiver
  that writes rows writes them in that transaction (and queues work after its commit).
- A grant panel provider `(user, grant) -> GrantPanel | None` adds a box to each grant on the
  grants page; it is asked only for grants the person may download.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

grant_approved = Signal()  # sender: the Grant class; kwargs: grant


@dataclass(frozen=True)
class GrantPanel:
    template: str
    context: dict[str, Any]


GrantPanelProvider = Callable[..., GrantPanel | None]
_panel_providers: dict[str, GrantPanelProvider] = {}


def register_grant_panel(app_label: str, provider: GrantPanelProvider) -> None:
    """Keyed by app, so a second `ready()` (the test runner's) replaces rather than repeats."""
    _panel_providers[app_label] = provider


def grant_panels(*, user: Any, grant: Any) -> list[GrantPanel]:
    found = (provider(user=user, grant=grant) for provider in _panel_providers.values())
    return [panel for panel in found if panel is not None]
