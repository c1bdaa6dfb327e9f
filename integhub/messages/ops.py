"""Messages: operations and security — access, audit, fleet, key ring, legacy import, metrics."""

MESSAGES: dict[str, dict[str, str]] = {
    # --- access ------------------------------------------------------------------------------
    "ops.access.role_unknown": {"de": "Unbekannte Rolle „{role}“ (erlaubt: {roles}).",
                                "en": "Unknown role '{role}' (allowed: {roles})."},
    "ops.access.last_admin": {
        "de": "Der letzte Administrator für alle Unternehmen kann nicht entfernt werden.",
        "en": "The last administrator for all companies cannot be removed.",
    },
    "ops.access.not_granted": {"de": "Diese Rolle war nicht vergeben.", "en": "This role was not granted."},
    "ops.access.role.admin": {"de": "Administrator", "en": "Administrator"},
    "ops.access.role.operator": {"de": "Operator", "en": "Operator"},
    "ops.access.role.analyst": {"de": "Analyst", "en": "Analyst"},
    "ops.auth.dev_mode": {
        "de": "Entwicklungsmodus (nur localhost): angemeldet als {email} ({role}). Für den Betrieb OIDC oder einen Proxy konfigurieren.",
        "en": "Development mode (localhost only): signed in as {email} ({role}). Configure OIDC or a proxy for production.",
    },
    "ops.auth.signed_in": {"de": "Angemeldet als {email}", "en": "Signed in as {email}"},
    "ops.auth.login_required": {"de": "Bitte melden Sie sich an.", "en": "Please sign in."},
    "ops.auth.login": {"de": "Anmelden", "en": "Sign in"},
    "ops.auth.logout": {"de": "Abmelden", "en": "Sign out"},
    "ops.auth.no_identity": {
        "de": "Keine Anmeldung möglich: weder OIDC ([auth] in secrets.toml) noch ein vertrauenswürdiger Proxy ist konfiguriert, und der Entwicklungsmodus gilt nur für localhost.",
        "en": "No way to sign in: neither OIDC ([auth] in secrets.toml) nor a trusted proxy is configured, and development mode only works on localhost.",
    },
    "ops.auth.no_roles": {
        "de": "Ihnen ({email}) ist noch keine Rolle zugewiesen. Bitte einen Administrator fragen.",
        "en": "You ({email}) have no role yet. Please ask an administrator.",
    },
    "ops.auth.page_denied": {"de": "Diese Seite ist für Ihre Rolle nicht freigegeben.",
                             "en": "Your role does not give access to this page."},
    # --- legacy import ------------------------------------------------------------------------
    "ops.legacy.error": {"de": "Der Import aus der Altanwendung ist fehlgeschlagen.", "en": "The legacy import failed."},
    "ops.legacy.app_key_invalid": {
        "de": "Der APP_KEY ist ungültig: erwartet wird „base64:…“ mit 32 Byte (wie in der .env der Altanwendung).",
        "en": "The APP_KEY is invalid: expected 'base64:…' holding 32 bytes (as in the legacy application's .env).",
    },
    "ops.legacy.bad_url": {"de": "Die Quell-URL ist keine gültige SQLAlchemy-URL (oder der Treiber fehlt).",
                           "en": "The source URL is not a valid SQLAlchemy URL (or its driver is missing)."},
    "ops.legacy.no_companies_table": {"de": "Die Quelldatenbank hat keine Tabelle „companies“.",
                                      "en": "The source database has no 'companies' table."},
    "ops.legacy.source_unreadable": {"de": "Die Quelldatenbank ist nicht lesbar ({kind}).",
                                     "en": "The source database cannot be read ({kind})."},
}
