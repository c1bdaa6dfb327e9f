"""The page registry for the router: which pages exist, their group, icon and URL.

Pages owned by other areas (metrics, fleet, audit, keys, access) are listed here and included only
when their file exists, so their arrival needs no router change. Provider pages come from the
provider registry: pages/provider_<name>.py when it exists, else the generic provider page.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from integhub.providers import all_providers
from ui import context
from ui.i18n import t

ROOT = Path(__file__).resolve().parent.parent
GROUP_INTEGRATIONS = "ui.nav.group.integrations"
GROUP_ANALYTICS = "ui.nav.group.analytics"


# URL paths differ from the file names on purpose: Streamlit still knows the old pages/ folder
# convention, and a URL equal to a file's name (e.g. /overview) could run pages/overview.py on its own,
# without this router, whenever Streamlit falls back to that convention (AppTest does on every run;
# a server on its first run). An unknown URL always falls through to the router.
URL_PATHS = {"overview": "uebersicht", "calcom": "cal-com", "retell": "retell-ai", "companies": "unternehmen",
             "fleet": "flotte", "audit": "audit-log", "keys": "schluessel", "access": "zugriff",
             "metrics": "sync-metriken"}


@dataclass(frozen=True)
class PageSpec:
    key: str  # what access control checks (page_allowed(identity, key)); the URL comes from URL_PATHS
    title_key: str | None  # catalogue key; None = use `title`
    icon: str
    group: str
    path: str | None = None  # file relative to the project root
    title: str | None = None
    render: Callable[[], None] | None = None  # for generated pages
    default: bool = False


def _generic_provider_page(name: str) -> Callable[[], None]:
    def page() -> None:
        from ui.provider_form import provider_page

        provider_page(name, context.company())

    page.__name__ = f"provider_{name}"
    return page


def page_specs() -> list[PageSpec]:
    specs = [PageSpec("overview", "ui.nav.overview", ":material/dashboard:", GROUP_INTEGRATIONS,
                      "pages/overview.py", default=True)]
    for prov in all_providers():
        path = f"pages/provider_{prov.name}.py"
        if (ROOT / path).exists():
            specs.append(PageSpec(prov.name, None, prov.icon, GROUP_INTEGRATIONS, path, title=prov.display_name))
        else:
            specs.append(PageSpec(prov.name, None, prov.icon, GROUP_INTEGRATIONS, title=prov.display_name,
                                  render=_generic_provider_page(prov.name)))
    optional = [
        PageSpec("companies", "ui.nav.companies", ":material/domain:", GROUP_INTEGRATIONS, "pages/companies.py"),
        PageSpec("fleet", "ui.nav.fleet", ":material/grid_view:", GROUP_INTEGRATIONS, "pages/fleet.py"),
        PageSpec("audit", "ui.nav.audit", ":material/history:", GROUP_INTEGRATIONS, "pages/audit.py"),
        PageSpec("keys", "ui.nav.keys", ":material/key:", GROUP_INTEGRATIONS, "pages/keys.py"),
        PageSpec("access", "ui.nav.access", ":material/admin_panel_settings:", GROUP_INTEGRATIONS, "pages/access.py"),
        PageSpec("metrics", "ui.nav.metrics", ":material/monitoring:", GROUP_ANALYTICS, "pages/metrics.py"),
    ]
    specs += [spec for spec in optional if (ROOT / spec.path).exists()]
    return specs


def navigation(allowed: Callable[[str], bool] = lambda key: True):
    """st.navigation over the pages this session may see, grouped; returns the selected page."""
    groups: dict[str, list] = {}
    registered: dict[str, st.Page] = {}
    for spec in page_specs():
        if not allowed(spec.key):
            continue
        title = t(spec.title_key) if spec.title_key else spec.title
        target = spec.path if spec.path is not None else spec.render
        page = st.Page(target, title=title, icon=spec.icon, url_path=URL_PATHS.get(spec.key, f"{spec.key}-page"),
                       default=spec.default)
        groups.setdefault(t(spec.group), []).append(page)
        registered[spec.key] = page
    context.set_pages(registered)
    return st.navigation(groups, position="sidebar", expanded=True)
