"""Messages: provider errors, validation, service results, CLI."""

MESSAGES: dict[str, dict[str, str]] = {
    # --- provider error taxonomy -------------------------------------------------------------
    "error.invalid_credentials": {
        "de": "Der API-Schlüssel wurde von {provider} abgelehnt ({status}).",
        "en": "{provider} rejected the API key ({status}).",
    },
    "error.forbidden": {
        "de": "Der API-Schlüssel hat bei {provider} keine Berechtigung für diese Aktion ({status}).",
        "en": "The API key is not permitted to do this at {provider} ({status}).",
    },
    "error.not_found": {
        "de": "{provider} kennt das angefragte Objekt nicht ({status}).",
        "en": "{provider} does not know the requested object ({status}).",
    },
    "error.rate_limited": {
        "de": "{provider} begrenzt gerade die Anfragen (429). Bitte in {retry_after} Sekunden erneut versuchen.",
        "en": "{provider} is rate-limiting requests (429). Please try again in {retry_after} seconds.",
    },
    "error.provider_error": {
        "de": "{provider} meldet einen internen Fehler ({status}). Bitte später erneut versuchen.",
        "en": "{provider} reported an internal error ({status}). Please try again later.",
    },
    "error.unreachable": {
        "de": "{provider} ist nicht erreichbar. Netzwerk oder Basis-URL prüfen.",
        "en": "{provider} cannot be reached. Check the network or the base URL.",
    },
    "error.timeout": {
        "de": "{provider} hat nicht rechtzeitig geantwortet (Zeitüberschreitung).",
        "en": "{provider} did not answer in time (timeout).",
    },
    "error.malformed_response": {
        "de": "{provider} hat eine unerwartete Antwort geschickt.",
        "en": "{provider} sent an unexpected response.",
    },
    "error.bad_request": {
        "de": "{provider} hat die Anfrage als ungültig abgelehnt ({status}).",
        "en": "{provider} rejected the request as invalid ({status}).",
    },
    # --- service results ---------------------------------------------------------------------
    "hub.error": {"de": "Die Aktion ist fehlgeschlagen.", "en": "The action failed."},
    "hub.conflict": {
        "de": "Jemand anderes hat diese Konfiguration inzwischen gespeichert. Bitte neu laden und die Änderung erneut vornehmen.",
        "en": "Someone else saved this configuration in the meantime. Please reload and make your change again.",
    },
    "hub.not_found": {"de": "Nicht gefunden.", "en": "Not found."},
    "hub.not_available": {"de": "Diese Funktion ist noch nicht verfügbar.", "en": "This feature is not available yet."},
    "hub.permission_denied": {"de": "Dafür fehlt Ihnen die Berechtigung.", "en": "You are not permitted to do this."},
    "hub.unknown_provider": {"de": "Unbekannter Anbieter „{provider}“.", "en": "Unknown provider '{provider}'."},
    "hub.company_not_found": {"de": "Unternehmen nicht gefunden.", "en": "Company not found."},
    "hub.branch_not_found": {"de": "Filiale nicht gefunden.", "en": "Branch not found."},
    "hub.staff_not_found": {"de": "Mitarbeiter nicht gefunden.", "en": "Staff member not found."},
    "hub.unexpected": {
        "de": "Unerwarteter Fehler ({kind}). Der Vorgang wurde nicht ausgeführt; bitte erneut versuchen.",
        "en": "Unexpected error ({kind}). Nothing was changed; please try again.",
    },
    "hub.database_error": {
        "de": "Die Datenbank ist nicht erreichbar oder nicht migriert (`python -m integhub migrate`).",
        "en": "The database is unreachable or not migrated (`python -m integhub migrate`).",
    },
    # --- validation ---------------------------------------------------------------------------
    "validation.key_empty": {"de": "Bitte einen API-Schlüssel eingeben.", "en": "Please enter an API key."},
    "validation.key_too_long": {
        "de": "Der API-Schlüssel ist länger als {max} Zeichen.",
        "en": "The API key is longer than {max} characters.",
    },
    "validation.key_whitespace": {
        "de": "Der API-Schlüssel enthält Leerzeichen oder Steuerzeichen.",
        "en": "The API key contains spaces or control characters.",
    },
    "validation.key_prefix": {
        "de": "Der API-Schlüssel muss mit „{prefix}“ beginnen.",
        "en": "The API key must start with '{prefix}'.",
    },
    "validation.team_slug": {
        "de": "Der Team-Slug darf nur Kleinbuchstaben, Ziffern und Bindestriche enthalten (max. 63 Zeichen).",
        "en": "The team slug may only contain lower-case letters, digits and hyphens (max. 63 characters).",
    },
    "validation.team_not_found": {
        "de": "Cal.com kennt kein Team mit dem Slug „{slug}“ für diesen Schlüssel.",
        "en": "Cal.com has no team with the slug '{slug}' for this key.",
    },
    "validation.agent_not_found": {
        "de": "Retell.ai kennt keinen Agent „{agent}“ unter diesem Schlüssel.",
        "en": "Retell.ai has no agent '{agent}' under this key.",
    },
    "validation.interval": {
        "de": "Das Sync-Intervall muss 15, 30, 60 oder 1440 Minuten sein.",
        "en": "The sync interval must be 15, 30, 60 or 1440 minutes.",
    },
    "validation.boolean": {"de": "Bitte Ja oder Nein wählen.", "en": "Please choose yes or no."},
    "validation.positive_int": {"de": "Bitte eine positive ganze Zahl angeben.", "en": "Please enter a positive whole number."},
    "validation.remote_id": {"de": "Die ID hat ein ungültiges Format.", "en": "The id has an invalid format."},
    "validation.name_required": {"de": "Bitte einen Namen angeben.", "en": "Please enter a name."},
    "validation.name_invalid": {
        "de": "Der Name ist zu lang (max. {max} Zeichen) oder enthält Steuerzeichen.",
        "en": "The name is too long (max. {max} characters) or contains control characters.",
    },
    "validation.email": {"de": "Bitte eine gültige E-Mail-Adresse angeben.", "en": "Please enter a valid email address."},
    "validation.company_slug": {
        "de": "Der Slug darf nur Kleinbuchstaben, Ziffern und Bindestriche enthalten.",
        "en": "The slug may only contain lower-case letters, digits and hyphens.",
    },
    "validation.slug_taken": {"de": "Der Slug „{slug}“ ist bereits vergeben.", "en": "The slug '{slug}' is already taken."},
    "validation.uuid": {"de": "Die ID ist keine gültige UUID.", "en": "The id is not a valid UUID."},
    "validation.timezone": {"de": "Unbekannte Zeitzone.", "en": "Unknown time zone."},
    "validation.branch_other_company": {
        "de": "Die Filiale gehört nicht zu diesem Unternehmen.",
        "en": "The branch does not belong to this company.",
    },
    "validation.unknown_setting": {"de": "Unbekannte Einstellung: {name}.", "en": "Unknown setting: {name}."},
    # --- dependency checks (the spec's validateDependencies) -----------------------------------
    "deps.calcom_branch": {"de": "Cal.com benötigt mindestens eine Filiale", "en": "Cal.com needs at least one branch"},
    "deps.calcom_staff": {"de": "Cal.com benötigt mindestens einen Mitarbeiter", "en": "Cal.com needs at least one staff member"},
    "deps.retell_branch": {"de": "Retell.ai benötigt mindestens eine Filiale", "en": "Retell.ai needs at least one branch"},
    # --- form labels shared by UI and CLI ----------------------------------------------------
    "calcom.api_key": {"de": "Cal.com API Schlüssel", "en": "Cal.com API key"},
    "calcom.team_slug": {"de": "Team Slug", "en": "Team slug"},
    "calcom.team_slug_help": {"de": "Nur bei Team-Accounts benötigt", "en": "Only needed for team accounts"},
    "calcom.default_event_type": {"de": "Standard Event Type", "en": "Default event type"},
    "retell.api_key": {"de": "Retell.ai API Schlüssel", "en": "Retell.ai API key"},
    "retell.default_agent": {"de": "Standard Agent", "en": "Default agent"},
    "form.section_sync": {"de": "Synchronisation", "en": "Synchronisation"},
    "form.auto_sync": {"de": "Automatische Synchronisation", "en": "Automatic synchronisation"},
    "form.sync_interval": {"de": "Sync-Intervall", "en": "Sync interval"},
    "interval.15": {"de": "Alle 15 Minuten", "en": "Every 15 minutes"},
    "interval.30": {"de": "Alle 30 Minuten", "en": "Every 30 minutes"},
    "interval.60": {"de": "Stündlich", "en": "Hourly"},
    "interval.1440": {"de": "Täglich", "en": "Daily"},
    # --- CLI ----------------------------------------------------------------------------------
    "cli.key_prompt": {
        "de": "API-Schlüssel eingeben (eine Zeile, wird nicht angezeigt):",
        "en": "Enter the API key (one line):",
    },
}

MESSAGES.update({
    "sync.already_running": {
        "de": "Für diesen Anbieter läuft bereits eine Synchronisation (gestartet {started_at} UTC).",
        "en": "A sync for this provider is already running (started {started_at} UTC).",
    },
})
