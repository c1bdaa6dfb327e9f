"""Provider clients load when first needed, or ahead on a thread of their own (ClientLoader)."""
from __future__ import annotations

import logging
import sys
import threading

from integhub.providers import ClientLoader, get_provider
from integhub.providers.base import Provider


class SlowClientProvider(Provider):
    name = "slow"
    display_name = "Slow"

    def __init__(self, module: str):
        self.client_module = module


def test_the_loader_marks_a_provider_ready_once_its_client_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "integhub_test_slow_client.py").write_text("import time\ntime.sleep(0.2)\nLOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "integhub_test_slow_client", raising=False)
    provider = SlowClientProvider("integhub_test_slow_client")
    done = threading.Event()

    loader = ClientLoader([provider, get_provider("calcom")], then=done.set)
    assert loader.ready("calcom")  # no client module of its own to wait for
    assert not loader.ready("slow")
    assert done.wait(5)
    assert loader.ready("slow") and provider.client_loaded
    assert sys.modules["integhub_test_slow_client"].LOADED


def test_a_client_that_fails_to_import_is_logged_and_the_loader_goes_on(caplog):
    provider = SlowClientProvider("integhub_no_such_client_module")
    done = threading.Event()
    with caplog.at_level(logging.ERROR, logger="integhub.providers"):
        loader = ClientLoader([provider], then=done.set)
        assert done.wait(5)
    assert loader.ready("slow")  # whoever needs the client gets the import error there
    assert "loading the slow client failed" in caplog.text


def test_a_retell_client_is_made_through_the_lazily_loaded_module():
    client = get_provider("retell").client("key_test_lazy_0001", timeout=1.0)
    try:
        assert type(client).__module__ == "integhub.providers.retell_client"
        assert "key_test_lazy_0001" not in repr(client)
    finally:
        client.close()
