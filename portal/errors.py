"""Domain errors: raised by services, shown to people as they are.

Messages are written for a bank's staff member, not for a developer. The API's exception
handler turns them into 400 responses; pages show them beside the form.
"""


class DomainError(Exception):
    """A request that the rules of the consortium refuse. `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    @property
    def messages(self) -> list[str]:
        """Every message to show beside the field (a refused file may have many problems)."""
        return [self.message]

    @property
    def details(self) -> list[dict] | None:
        """Structured detail for API clients, where there is more than the messages."""
        return None
