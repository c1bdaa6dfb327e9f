"""Stand-ins for provider calls in service tests that are about the hub's own logic.
(End-to-end paths run against the simulator over real HTTP; see tests/test_cli.py.)"""
from __future__ import annotations

from integhub.providers.calcom import CalcomProvider
from integhub.providers.errors import InvalidCredentials, Unreachable
from integhub.providers.retell import RetellProvider

GOOD_CAL = "cal_0123456789abcdef0123456789abcdef"
GOOD_CAL_2 = "cal_fedcba9876543210fedcba9876543210"
GOOD_RETELL = "key_0123456789abcdef0123"


class FakeRemote:
    """Accepts keys in `valid`, refuses others like the provider would; counts calls."""

    def __init__(self, valid=(GOOD_CAL, GOOD_CAL_2, GOOD_RETELL), down=False):
        self.valid = set(valid)
        self.down = down
        self.calls = 0

    def validate(self, provider_self, api_key, settings, *, timeout=10.0):
        self.calls += 1
        if self.down:
            raise Unreachable(provider_self.name)
        if api_key not in self.valid:
            raise InvalidCredentials(provider_self.name, status=401)
        return {"username": "anna"}

    def check(self, provider_self, api_key, settings, *, timeout=5.0):
        self.validate(provider_self, api_key, settings)

    def install(self, monkeypatch):
        remote = self
        for cls in (CalcomProvider, RetellProvider):
            monkeypatch.setattr(cls, "validate_key", lambda s, k, st, timeout=10.0: remote.validate(s, k, st))
            monkeypatch.setattr(cls, "check_status", lambda s, k, st, timeout=5.0: remote.check(s, k, st))
        return self
