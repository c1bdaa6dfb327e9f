"""Provider registry. Every module in this package that defines `PROVIDER` is a provider.

Adding Stripe later means adding `integhub/providers/stripe.py` with a `PROVIDER`; nothing else changes.
A provider's HTTP client lives in `<name>_client.py` and is imported by the provider when a client is
first needed (`Provider.load_client`), not by the registry: the Retell SDK alone takes a second of CPU
to import, which a process that never talks to Retell should not pay.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import Provider


@cache
def _registry() -> dict[str, Provider]:
    found: dict[str, Provider] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_client"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        provider = getattr(module, "PROVIDER", None)
        if isinstance(provider, Provider):
            found[provider.name] = provider
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def all_providers() -> list[Provider]:
    return list(_registry().values())


def provider_names() -> list[str]:
    return list(_registry())


def get_provider(name: str) -> Provider:
    from ..errors import NotFound

    try:
        return _registry()[name]
    except KeyError:
        raise NotFound("hub.unknown_provider", provider=name) from None
