"""The hub's own exceptions (provider failures live in integhub.providers.errors).

Each carries an i18n key so pages, CLI and worker show the same clear message; none carries a secret.
"""
from __future__ import annotations

from .i18n import t


class HubError(Exception):
    key = "hub.error"

    def __init__(self, key: str | None = None, **kwargs: object):
        self.key = key or self.key
        self.kwargs = kwargs
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.kwargs)


class ValidationFailed(HubError):
    """Input rejected before anything was written. `field` names the form field."""

    def __init__(self, field: str, key: str, **kwargs: object):
        self.field = field
        super().__init__(key, **kwargs)


class ConflictError(HubError):
    key = "hub.conflict"


class NotFound(HubError):
    key = "hub.not_found"


class NotAvailable(HubError):
    key = "hub.not_available"


class PermissionDenied(HubError):
    key = "hub.permission_denied"
