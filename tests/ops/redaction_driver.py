"""A hub process for test_redaction.py: everything logged at DEBUG into a file while it configures
both providers, runs a full sync of each, registers webhooks and takes a webhook round through the
real HTTP routes. Settings (keys, agent, log file) arrive as JSON on stdin, never in argv.

    python tests/ops/redaction_driver.py < settings.json
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

LOGGERS = ("httpx", "httpcore", "retell", "sqlalchemy.engine", "sqlalchemy.pool", "integhub", "starlette",
           "urllib3", "asyncio")


def main() -> int:
    cfg = json.loads(sys.stdin.read())
    # Handlers first, as a server's logging config would be, then the hub's own start-up.
    fmt = "%(asctime)s %(name)s %(levelname)s %(message)s"
    logging.basicConfig(level=logging.DEBUG, filename=cfg["log_file"], format=fmt)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    # A handler of its own on a non-propagating logger, made before the hub is imported, like a
    # server's (uvicorn's) logging config.
    server_log = logging.getLogger("uvicorn.error")
    server_handler = logging.FileHandler(cfg["log_file"])
    server_handler.setFormatter(logging.Formatter(fmt))
    server_log.addHandler(server_handler)
    server_log.propagate = False
    server_log.setLevel(logging.DEBUG)
    if not cfg.get("redaction", True):  # the control run: redaction switched off
        import integhub.redaction as redaction

        redaction.install = lambda: None
    # No explicit install(): the first secret the hub decrypts switches redaction on by itself.

    from starlette.testclient import TestClient

    from integhub.db import Hub
    from integhub.services.companies import create_branch, create_company, create_staff
    from integhub.services.configs import get_secret, save_config
    from integhub.services.status import company_status
    from integhub.services.sync import run_sync
    from integhub.services.webhooks import register_webhook
    from integhub.web import api_app

    hub = Hub.from_env()
    company = create_company(hub, "Redaktion Praxis GmbH")
    create_branch(hub, company.id, "Zentrale")
    create_staff(hub, company.id, "Dr. Weber", "weber@example.de")
    out = {}
    bad = save_config(hub, company.id, "calcom", api_key="cal_live_invalid_" + cfg["calcom_key"][-8:])
    out["invalid_key_refused"] = not bad.ok
    for provider, settings in (("calcom", {"auto_sync_enabled": False}),
                               ("retell", {"auto_sync_enabled": False, "default_agent_id": cfg["agent_id"]})):
        result = save_config(hub, company.id, provider, api_key=cfg[f"{provider}_key"], settings=settings)
        out[f"{provider}_saved"] = result.ok
        sync = run_sync(hub, company.id, provider, actor="redaction-test", trigger="manual")
        out[f"{provider}_synced"] = sync.records_synced if sync.success else f"failed: {sync.error}"
        register_webhook(hub, company.id, provider)
    # Probes: the ways a careless log line could carry a secret.
    probe = logging.getLogger("integhub.probe")
    probe.debug("request headers %s", {"Authorization": f"Bearer {cfg['retell_key']}", "X-Trace": "1"})
    probe.info("calling Cal.com with key " + cfg["calcom_key"])
    server_log.warning("client sent Authorization: Bearer %s", cfg["unknown_token"])
    try:
        raise RuntimeError(f"provider refused {cfg['retell_key']}")
    except RuntimeError:
        server_log.exception("request failed")
    out["status"] = {p: v["state"] for p, v in company_status(hub, company.id, use_cache=False)["providers"].items()}

    with TestClient(api_app()) as client:
        body = json.dumps({"event": "call_started", "call": {
            "call_id": "call_redaction_1", "agent_id": cfg["agent_id"], "call_type": "phone_call",
            "call_status": "ongoing", "direction": "inbound", "from_number": "+4930123456",
            "to_number": "+4930999888", "start_timestamp": int(time.time() * 1000)}}, separators=(",", ":"))
        ts = int(time.time() * 1000)
        digest = hmac.new(cfg["retell_key"].encode(), (body + str(ts)).encode(), hashlib.sha256).hexdigest()
        out["retell_webhook"] = client.post("/api/retell/webhook", content=body,
                                            headers={"x-retell-signature": f"v={ts},d={digest}",
                                                     "content-type": "application/json"}).status_code
        out["retell_bad_signature"] = client.post("/api/retell/webhook", content=body,
                                                  headers={"x-retell-signature": f"v={ts},d={'0' * 64}",
                                                           "content-type": "application/json"}).status_code
        secret = get_secret(hub, company.id, "calcom", "webhook_secret")
        cal_body = json.dumps({"triggerEvent": "BOOKING_CREATED", "createdAt": "2026-11-25T09:00:00.000Z",
                               "payload": {"uid": "redaction-booking-1", "bookingId": 1, "eventTypeId": 1,
                                           "title": "Erstberatung", "startTime": "2026-12-02T08:00:00.000Z",
                                           "endTime": "2026-12-02T08:30:00.000Z", "status": "ACCEPTED",
                                           "attendees": [{"name": "Jana", "email": "jana@example.de"}]}}).encode()
        sig = hmac.new(secret.encode(), cal_body, hashlib.sha256).hexdigest()
        probe.debug("webhook secret in use: %s", secret)
        out["calcom_webhook"] = client.post(f"/api/calcom/webhook/{company.id}", content=cal_body,
                                            headers={"x-cal-signature-256": sig,
                                                     "content-type": "application/json"}).status_code
        # the secret generated at registration is searched for in the logs too
        Path(cfg["log_file"] + ".secret").write_text(secret)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
