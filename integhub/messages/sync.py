"""Messages of the sync engine, the worker, the mapping editors and the metrics page."""

MESSAGES = {
    # --- sync engine ----------------------------------------------------------------------------
    "sync_engine.not_configured": {
        "de": "{provider} ist für dieses Unternehmen nicht eingerichtet; es gibt nichts zu synchronisieren.",
        "en": "{provider} is not set up for this company; there is nothing to sync.",
    },
    "sync_engine.inactive": {
        "de": "Die {provider}-Integration ist deaktiviert; bitte erst aktivieren.",
        "en": "The {provider} integration is inactive; activate it first.",
    },
    "sync_engine.delete_guard": {
        "de": "Synchronisation angehalten: {would_delete} von {stored} gespeicherten Einträgen ({object_type}) "
              "wären als gelöscht markiert worden. Bitte beim Anbieter prüfen; es wurde nichts gelöscht.",
        "en": "Sync stopped: {would_delete} of {stored} stored items ({object_type}) would have been marked "
              "deleted. Please check at the provider; nothing was deleted.",
    },
    "sync_engine.lease_lost": {
        "de": "Die Synchronisation wurde abgebrochen, weil ein anderer Prozess sie übernommen hat.",
        "en": "The sync was stopped because another process took it over.",
    },
    "sync_engine.cancelled": {
        "de": "Die Synchronisation wurde abgebrochen (der Prozess wurde beendet).",
        "en": "The sync was cancelled (the process was stopped).",
    },
    "sync_engine.abandoned": {
        "de": "Die Synchronisation wurde nicht beendet: ihr Prozess ({holder}) ist ausgefallen.",
        "en": "The sync never finished: its process ({holder}) died.",
    },
    "sync_engine.no_steps": {
        "de": "Für diesen Anbieter gibt es keine Synchronisation.",
        "en": "This provider has no sync.",
    },
    # --- worker ---------------------------------------------------------------------------------
    "sync_engine.worker_failures": {
        "de": "{failed} von {total} Synchronisationen sind fehlgeschlagen (Details in der Ausgabe und im Status).",
        "en": "{failed} of {total} syncs failed (details above and in the status).",
    },
    # --- mapping editors ------------------------------------------------------------------------
    "mapping.unknown_remote": {
        "de": "Dieser Eintrag ist nicht (mehr) vorhanden. Bitte die Seite neu laden.",
        "en": "This item does not exist (any more). Please reload the page.",
    },
    "mapping.foreign_staff": {
        "de": "Der gewählte Mitarbeiter gehört nicht zu diesem Unternehmen.",
        "en": "The chosen staff member does not belong to this company.",
    },
    "mapping.foreign_branch": {
        "de": "Die gewählte Filiale gehört nicht zu diesem Unternehmen.",
        "en": "The chosen branch does not belong to this company.",
    },
    # --- metrics page ---------------------------------------------------------------------------
    "metrics_page.title": {"de": "Sync-Metriken", "en": "Sync metrics"},
    "metrics_page.caption": {
        "de": "Synchronisationen und andere Aktionen je Anbieter: Anzahl, Erfolgsquote, Dauer (p50/p95), "
              "übertragene Datensätze und Fehler. Zeiten in UTC.",
        "en": "Syncs and other actions per provider: count, success rate, duration (p50/p95), records "
              "transferred and errors. Times in UTC.",
    },
    "metrics_page.dates": {"de": "Zeitraum", "en": "Date range"},
    "metrics_page.companies": {"de": "Unternehmen", "en": "Companies"},
    "metrics_page.all_companies": {"de": "Alle Unternehmen", "en": "All companies"},
    "metrics_page.providers": {"de": "Anbieter", "en": "Providers"},
    "metrics_page.all_providers": {"de": "Alle Anbieter", "en": "All providers"},
    "metrics_page.action": {"de": "Aktion", "en": "Action"},
    "metrics_page.runs": {"de": "Ausführungen", "en": "Runs"},
    "metrics_page.failures": {"de": "Fehlgeschlagen", "en": "Failed"},
    "metrics_page.success_rate": {"de": "Erfolgsquote", "en": "Success rate"},
    "metrics_page.p50": {"de": "Dauer (Median)", "en": "Duration (median)"},
    "metrics_page.p95": {"de": "Dauer (p95)", "en": "Duration (p95)"},
    "metrics_page.duration": {"de": "Dauer p50 / p95", "en": "Duration p50 / p95"},
    "metrics_page.records": {"de": "Datensätze", "en": "Records"},
    "metrics_page.avg_ms": {"de": "Dauer Ø (ms)", "en": "Duration avg (ms)"},
    "metrics_page.max_ms": {"de": "Dauer max (ms)", "en": "Duration max (ms)"},
    "metrics_page.empty": {
        "de": "Für diese Auswahl gibt es keine Einträge. Zeitraum oder Filter erweitern.",
        "en": "Nothing recorded for this selection. Widen the date range or the filters.",
    },
    "metrics_page.over_time": {"de": "Verlauf", "en": "Over time"},
    "metrics_page.bucket.hour": {"de": "je Stunde", "en": "per hour"},
    "metrics_page.bucket.day": {"de": "je Tag", "en": "per day"},
    "metrics_page.bucket.week": {"de": "je Woche", "en": "per week"},
    "metrics_page.provider": {"de": "Anbieter", "en": "Provider"},
    "metrics_page.time": {"de": "Zeit", "en": "Time"},
    "metrics_page.errors": {"de": "Fehler nach Ursache", "en": "Errors by cause"},
    "metrics_page.no_errors": {"de": "Keine Fehler in diesem Zeitraum.", "en": "No errors in this period."},
    "metrics_page.count": {"de": "Anzahl", "en": "Count"},
    "metrics_page.per_company": {"de": "Je Unternehmen", "en": "Per company"},
    "metrics_page.company": {"de": "Unternehmen", "en": "Company"},
    "metrics_page.last_run": {"de": "Zuletzt", "en": "Last run"},
    "metrics_page.last_error": {"de": "Letzter Fehler", "en": "Last error"},
    "metrics_page.csv_companies": {"de": "Tabelle als CSV", "en": "Table as CSV"},
    "metrics_page.csv_series": {"de": "Verlauf als CSV", "en": "Time series as CSV"},
    "metrics_page.company_search": {"de": "Unternehmen suchen", "en": "Search companies"},
    "metrics_page.company_search_placeholder": {"de": "Name eingeben …", "en": "Type a name …"},
    "metrics_page.more_companies": {
        "de": "Die Auswahl zeigt die ersten {n} Unternehmen; weitere über die Suche.",
        "en": "The list shows the first {n} companies; search to find the others.",
    },
    "metrics_page.table_page": {"de": "Seite", "en": "Page"},
    "metrics_page.table_rows": {
        "de": "Zeilen {first}–{last} von {total}, schlechteste Erfolgsquote zuerst. Die CSV-Datei enthält alle.",
        "en": "Rows {first}–{last} of {total}, worst success rate first. The CSV file holds all of them.",
    },
}
