"""Domain errors raised by services and selectors; pages and the API turn them into responses."""

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """A request that cannot be carried out as asked. ``message`` is shown to the user."""

    status_code = 400

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """Missing *or not yours*: callers cannot tell which, so ids cannot be probed."""

    status_code = 404


class PermissionDenied(DomainError):
    """Visible to the actor, but the actor may not change it."""

    status_code = 403


class Conflict(DomainError):
    status_code = 409


__all__ = ["DomainError", "NotFound", "PermissionDenied", "Conflict", "ValidationError"]
