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
}
