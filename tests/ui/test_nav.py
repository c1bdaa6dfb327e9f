"""The page registry: provider pages come from the provider registry, optional pages from their files."""
from __future__ import annotations

from integhub.providers import all_providers
from integhub.providers.base import FormField, Provider
from ui import nav


class StripeLike(Provider):
    name = "stripe"
    display_name = "Stripe"
    icon = ":material/payments:"
    fields = (FormField("api_key", "calcom.api_key", "password"),)


def test_a_new_provider_gets_a_generic_page_without_page_code(monkeypatch):
    monkeypatch.setattr(nav, "all_providers", lambda: [*all_providers(), StripeLike()])
    specs = {spec.key: spec for spec in nav.page_specs()}
    assert specs["calcom"].path == "pages/provider_calcom.py" and specs["retell"].path == "pages/provider_retell.py"
    stripe = specs["stripe"]
    assert stripe.path is None and callable(stripe.render) and stripe.title == "Stripe"
    assert stripe.group == nav.GROUP_INTEGRATIONS


def test_url_paths_never_equal_a_page_file_name():
    stems = {p.stem for p in (nav.ROOT / "pages").glob("*.py")}
    assert not stems & set(nav.URL_PATHS.values())
    assert set(nav.URL_PATHS) >= {spec.key for spec in nav.page_specs()}
