"""Storage's domain error, in a module of its own so that every storage module can raise it."""

from portal.errors import DomainError

__all__ = ["StorageError"]


class StorageError(DomainError):
    """Storage refused or failed an operation; the message says what and which object."""
