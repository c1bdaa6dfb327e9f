import pytest
from sqlalchemy import select, update

from integhub.config import get_settings
from integhub.crypto import KeyRing, generate_key, token_key_id
from integhub.db import Hub, StartupError, make_engine
from integhub.models import IntegrationConfig
from integhub.services.companies import create_company
from integhub.services.configs import get_secret, save_config
from integhub.services.keys import check_keys, rotate_keys
from tests.fakes import GOOD_CAL, GOOD_RETELL, FakeRemote


def _hub_with(url, keys: str) -> Hub:
    return Hub(make_engine(url), KeyRing.from_string(keys), get_settings())


@pytest.fixture
def configured(hub, monkeypatch):
    FakeRemote().install(monkeypatch)
    companies = [create_company(hub, f"Firma {i}") for i in range(5)]
    for c in companies:
        assert save_config(hub, c.id, "calcom", api_key=GOOD_CAL).ok
        assert save_config(hub, c.id, "retell", api_key=GOOD_RETELL).ok
    return companies


def test_rotation_moves_every_secret_to_the_new_primary_key(hub, configured, db_url):
    old_keys = hub_keys = hub.settings.encryption_keys
    new = generate_key()
    rotated_hub = _hub_with(db_url, f"{new},{old_keys}")
    progress = []
    report = rotate_keys(rotated_hub, batch_size=3, progress=lambda d, t: progress.append((d, t)))
    assert report.rotated == 10 and not report.failed
    assert progress[-1] == (10, 10)
    with rotated_hub.session() as s:
        assert {token_key_id(r.api_key) for r in s.scalars(select(IntegrationConfig))} == {rotated_hub.keyring.primary_id}
    # the old keys can now be dropped
    only_new = _hub_with(db_url, new)
    only_new.verify_key_ring()
    assert all(get_secret(only_new, c.id, "calcom") == GOOD_CAL for c in configured)
    assert rotate_keys(only_new).rotated == 0  # resumable / idempotent
    for h in (rotated_hub, only_new):
        h.engine.dispose()


def test_interrupted_rotation_resumes_without_loss(hub, configured, db_url):
    new = generate_key()
    ring = f"{new},{hub.settings.encryption_keys}"
    first = _hub_with(db_url, ring)

    class Stop(Exception):
        pass

    def stop_after_first_batch(done, total):
        raise Stop()

    with pytest.raises(Stop):
        rotate_keys(first, batch_size=2, progress=stop_after_first_batch)
    report = rotate_keys(first, batch_size=2)
    assert report.rotated == 8 and report.already_current == 2  # the first batch of two was done
    assert all(get_secret(first, c.id, "retell") == GOOD_RETELL for c in configured)
    first.engine.dispose()


def test_check_keys_lists_rows_that_do_not_decrypt(hub, configured):
    assert check_keys(hub).bad == []
    victim, other = configured[0], configured[1]
    with hub.session() as s:  # copy a ciphertext into another row: the row binding must catch it
        token = s.scalar(select(IntegrationConfig.api_key).where(IntegrationConfig.company_id == other.id,
                                                                 IntegrationConfig.provider == "calcom"))
        s.execute(update(IntegrationConfig).where(IntegrationConfig.company_id == victim.id,
                                                  IntegrationConfig.provider == "calcom").values(api_key=token)
                  .execution_options(synchronize_session=False))
    report = check_keys(hub)
    assert [(b[0], b[1], b[2]) for b in report.bad] == [(str(victim.id), "calcom", "api_key")]


def test_hub_refuses_to_start_with_keys_that_cannot_decrypt(hub, configured, db_url, monkeypatch):
    monkeypatch.setenv("INTEGHUB_ENCRYPTION_KEYS", generate_key())
    with pytest.raises(StartupError) as exc:
        Hub.from_env()
    assert "INTEGHUB_ENCRYPTION_KEYS" in str(exc.value)
