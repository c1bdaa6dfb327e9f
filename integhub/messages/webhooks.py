"""Messages: webhook registration, replay and the status card."""

MESSAGES: dict[str, dict[str, str]] = {
    "webhooks.registered": {
        "de": "{provider}-Webhook registriert: {url}",
        "en": "{provider} webhook registered: {url}",
    },
    "webhooks.already_registered": {
        "de": "{provider}-Webhook ist bereits registriert: {url}",
        "en": "{provider} webhook is already registered: {url}",
    },
    "webhooks.registered_agent": {
        "de": "Agent: {agent}",
        "en": "Agent: {agent}",
    },
    "webhooks.registered_id": {
        "de": "Webhook-ID bei Cal.com: {id}",
        "en": "Webhook id at Cal.com: {id}",
    },
    "webhooks.other_hooks": {
        "de": "Hinweis: Bei Cal.com gibt es weitere Webhooks mit derselben URL ({ids}), die sich nicht löschen "
              "ließen. Ihre Zustellungen werden abgelehnt (falsche Signatur); bitte in Cal.com löschen oder "
              "erneut registrieren.",
        "en": "Note: Cal.com has other webhooks with the same URL ({ids}) that could not be deleted. Their "
              "deliveries are refused (wrong signature); please delete them in Cal.com or register again.",
    },
    "webhooks.removed_hooks": {
        "de": "Veraltete Webhooks mit derselben URL bei Cal.com gelöscht: {ids}",
        "en": "Stale webhooks with the same URL deleted at Cal.com: {ids}",
    },
    "webhooks.repaired": {
        "de": "Der Webhook war bei Cal.com deaktiviert oder unvollständig und wurde wieder eingeschaltet "
              "(alle Buchungsereignisse).",
        "en": "The webhook was switched off or incomplete at Cal.com and has been switched on again "
              "(every booking event).",
    },
    "webhooks.concurrent": {
        "de": "Gleichzeitig wurde der Webhook an anderer Stelle registriert; diese Registrierung bleibt in Kraft. "
              "Bitte den Status prüfen.",
        "en": "The webhook was registered elsewhere at the same time; that registration stays in force. "
              "Please check the status.",
    },
    "webhooks.local_url": {
        "de": "Warnung: Die Webhook-URL zeigt auf diesen Rechner; {provider} kann sie nicht erreichen. "
              "INTEGHUB_PUBLIC_URL auf die öffentliche Adresse des Hubs setzen und erneut registrieren.",
        "en": "Warning: the webhook URL points to this machine; {provider} cannot reach it. "
              "Set INTEGHUB_PUBLIC_URL to the hub's public address and register again.",
    },
    "webhooks.not_configured": {
        "de": "{provider} ist für dieses Unternehmen nicht konfiguriert. Bitte zuerst einen API-Schlüssel speichern.",
        "en": "{provider} is not configured for this company. Please save an API key first.",
    },
    "webhooks.no_agent": {
        "de": "Kein Retell-Agent angegeben und kein Standard-Agent konfiguriert (--agent AGENT_ID).",
        "en": "No Retell agent given and no default agent configured (--agent AGENT_ID).",
    },
    "webhooks.not_applied": {
        "de": "{provider} hat die Webhook-URL nicht übernommen. Bitte erneut versuchen.",
        "en": "{provider} did not apply the webhook URL. Please try again.",
    },
    "webhooks.config_gone": {
        "de": "Die Konfiguration wurde zwischenzeitlich gelöscht; der Webhook-Schlüssel wurde nicht gespeichert.",
        "en": "The configuration was deleted meanwhile; the webhook secret was not stored.",
    },
    "webhooks.unknown_provider": {
        "de": "Für {provider} gibt es keine Webhooks.",
        "en": "{provider} has no webhooks.",
    },
    "webhooks.unknown_action": {
        "de": "Unbekannte Webhook-Aktion: {action}",
        "en": "Unknown webhook action: {action}",
    },
    "webhooks.replayed": {
        "de": "{attempted} gespeicherte Zustellungen erneut verarbeitet: {processed} erfolgreich, {failed} fehlgeschlagen.",
        "en": "Replayed {attempted} stored deliveries: {processed} succeeded, {failed} failed.",
    },
    "webhooks.pruned": {
        "de": "{deleted} verarbeitete Webhook-Zustellungen gelöscht, die älter als {days} Tage waren.",
        "en": "Deleted {deleted} processed webhook deliveries older than {days} days.",
    },
    "webhooks.prune_more": {
        "de": "Es gibt noch mehr; der nächste Lauf löscht weiter.",
        "en": "There are more; the next run goes on deleting.",
    },
    "webhooks.prune_kept": {
        "de": "{count} ältere fehlgeschlagene oder unverarbeitete Zustellungen bleiben erhalten "
              "(mit „webhooks replay“ erneut verarbeiten).",
        "en": "{count} older failed or unprocessed deliveries are kept (process them again with 'webhooks replay').",
    },
    "webhooks.retention_invalid": {
        "de": "Ungültige Aufbewahrungsdauer {name}={value}: erwartet wird eine ganze Zahl von Tagen, mindestens 1.",
        "en": "Invalid retention {name}={value}: expected a whole number of days, at least 1.",
    },
    "webhooks.replay_error": {
        "de": "Fehlgeschlagen: {error}",
        "en": "Failed: {error}",
    },
}
