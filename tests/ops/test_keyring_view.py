"""The key-management page's service: secrets per key, rotation with progress, check-keys."""
import pytest

from integhub.crypto import KeyRing, generate_key
from integhub.db import Hub
from integhub.errors import PermissionDenied
from integhub.models import IntegrationConfig
from integhub.services import keyring_view
from integhub.services.access import Grant, Identity, system_identity
from integhub.services.companies import create_company
from integhub.crypto import context_for


def who(role, company=None):
    return Identity(email=f"{role}@example.com", source="oidc", grants=(Grant(role, company),))


def store(hub, cid, provider, key, webhook_secret=None):
    with hub.session() as s:
        s.add(IntegrationConfig(company_id=cid, provider=provider, settings={}, is_active=True,
                                api_key=hub.keyring.encrypt(key, context_for(cid, provider, "api_key")),
                                webhook_secret=None if webhook_secret is None else
                                hub.keyring.encrypt(webhook_secret, context_for(cid, provider, "webhook_secret"))))


def test_counts_per_key_rotation_and_check(hub):
    old_key, new_key = generate_key(), generate_key()
    old = Hub(hub.engine, KeyRing.from_string(old_key), hub.settings)
    a, b = create_company(hub, "Alpha").id, create_company(hub, "Beta").id
    store(old, a, "calcom", "cal_live_aaaaaaaaaaaa", webhook_secret="whsec_aaaaaaaa")
    store(old, b, "calcom", "cal_live_bbbbbbbbbbbb")
    ring = Hub(hub.engine, KeyRing.from_string(f"{new_key},{old_key}"), hub.settings)
    store(ring, a, "retell", "key_cccccccccccc")
    admin = who("admin")

    view = keyring_view.key_ring_view(ring, admin)
    assert view.primary_id == ring.keyring.primary_id
    assert [(k.key_id, k.primary, k.secrets) for k in view.keys] == [
        (ring.keyring.key_ids[0], True, 1), (ring.keyring.key_ids[1], False, 3)]
    assert view.total_secrets == 4 and view.needs_rotation == 3 and view.not_in_ring == 0

    progress = []
    report = keyring_view.rotate(ring, admin, batch_size=1, progress=lambda d, t: progress.append((d, t)))
    assert report.rotated == 3 and not report.failed
    assert progress[-1] == (3, 3) and len(progress) == 3
    after = keyring_view.key_ring_view(ring, admin)
    assert after.needs_rotation == 0 and after.keys[1].secrets == 0

    # a ring that lost the key: the view names the unknown key, check-keys lists the failures
    lost = Hub(hub.engine, KeyRing.from_string(generate_key()), hub.settings)
    lost_view = keyring_view.key_ring_view(lost, admin)
    assert lost_view.not_in_ring == 4 and lost_view.keys[-1].position is None
    checked = keyring_view.check(lost, admin)
    assert checked.ok == 0 and len(checked.bad) == 4
    assert keyring_view.check(ring, admin).ok == 4


def test_only_admins_for_all_companies(hub):
    a = create_company(hub, "Alpha").id
    for ident in (who("admin", a), who("operator"), who("analyst")):
        with pytest.raises(PermissionDenied):
            keyring_view.key_ring_view(hub, ident)
        with pytest.raises(PermissionDenied):
            keyring_view.rotate(hub, ident)
    keyring_view.key_ring_view(hub, system_identity())
