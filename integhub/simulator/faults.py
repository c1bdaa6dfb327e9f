"""Fault injection: what the next N matching requests should suffer.

A fault matches by provider ("calcom", "retell" or "*"), optional path prefix, optional method and
optional API key. Latency faults add delay and let the request through (when several match, the
largest delay wins, so a specific latency overrides a global default). Of the other kinds, the
oldest matching fault decides what the request gets. `count` is how many requests a fault affects;
None keeps it until it is cleared. `skip` lets that many matching requests through first.

Kinds:
    latency     answer normally, `latency_ms` after the request arrived
    status      answer `status` (default 500) with the provider's real error body; optional
                `retry_after` (seconds) adds a Retry-After header, `message` overrides the text
    rate_limit  429 with the provider's body; Cal.com sends X-RateLimit-*-Default headers with
                reset = `reset_seconds` (default 60). Retell documents no headers, so it gets
                `retry-after` only when `reset_seconds` is given explicitly
    hang        sleep `hang_seconds` (default 30) before answering: a client timeout fires first
    malformed   a 200 whose body is broken; `variant`: invalid_json (default, the real body cut in
                half), html (a proxy's error page), no_envelope (payload without the provider's
                wrapper), wrong_type (list where an object belongs and vice versa)
    truncated   a page that contradicts itself: Cal.com keeps `pagination` but drops half of
                `data`; Retell says has_more=true but sends no pagination_key
"""
from __future__ import annotations

import json

import hashlib
import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("latency", "status", "hang", "malformed", "truncated", "rate_limit")
PROVIDERS = ("calcom", "retell", "*")
MALFORMED_VARIANTS = ("invalid_json", "html", "no_envelope", "wrong_type")


@dataclass
class Fault:
    kind: str
    provider: str = "*"
    path_prefix: str | None = None
    method: str | None = None
    api_key_hash: str | None = None  # only requests made with this key (sha256 hex)
    count: int | None = None  # requests still to affect; None = until cleared
    skip: int = 0  # matching requests to let through first (a fault in the middle of a listing)
    latency_ms: float = 0.0
    status: int = 500
    message: str | None = None
    retry_after: float | None = None
    reset_seconds: float | None = None
    hang_seconds: float = 30.0
    variant: str = "invalid_json"
    id: int = 0
    hits: int = field(default=0)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Fault:
        """Build from the control API's JSON; raises ValueError with a readable reason."""
        if not isinstance(spec, dict):
            raise ValueError("fault must be a JSON object")
        spec = dict(spec)
        api_key = spec.pop("api_key", None)
        known = {f for f in cls.__dataclass_fields__ if f not in ("id", "hits", "api_key_hash")}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown fault fields: {unknown}")
        try:
            fault = cls(**spec)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if api_key is not None:
            fault.api_key_hash = hashlib.sha256(str(api_key).encode("utf-8")).hexdigest()
        fault.validate()
        return fault

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if self.provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {PROVIDERS}")
        if self.count is not None and (isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1):
            raise ValueError("count must be a positive integer or null")
        if isinstance(self.skip, bool) or not isinstance(self.skip, int) or self.skip < 0:
            raise ValueError("skip must be a non-negative integer")
        if self.kind == "status" and not (isinstance(self.status, int) and 400 <= self.status <= 599):
            raise ValueError("status must be an HTTP error status 400..599")
        if self.kind == "malformed" and self.variant not in MALFORMED_VARIANTS:
            raise ValueError(f"variant must be one of {MALFORMED_VARIANTS}")
        for name in ("latency_ms", "hang_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
        for name in ("retry_after", "reset_seconds"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{name} must be a non-negative number or null")
        if self.method is not None:
            self.method = str(self.method).upper()

    def matches(self, provider: str, method: str, path: str, api_key_hash: str | None) -> bool:
        return (
            self.provider in ("*", provider)
            and (self.path_prefix is None or path.startswith(self.path_prefix))
            and (self.method is None or self.method == method)
            and (self.api_key_hash is None or self.api_key_hash == api_key_hash)
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["api_key_hash"] = out["api_key_hash"][:12] if out["api_key_hash"] else None
        return out


class FaultBook:
    """The active faults. `take` consumes counts atomically, so concurrent requests each get one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> int:
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
            return fault.id

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, provider: str, method: str, path: str, api_key_hash: str | None) -> tuple[float, Fault | None]:
        """(latency in ms, the fault deciding the answer or None) for one request."""
        latency = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(provider, method, path, api_key_hash):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.kind == "latency":
                    latency = max(latency, float(fault.latency_ms))
                elif chosen is None:
                    chosen = fault
                else:
                    continue
                fault.hits += 1
                if fault.count is not None:
                    fault.count -= 1
            self._faults = [f for f in self._faults if f.count is None or f.count > 0]
        return latency, chosen


@dataclass
class SimRequest:
    """A provider request as the handlers see it (body already read)."""

    method: str
    path: str
    query: Any  # starlette QueryParams
    headers: Any  # starlette Headers
    body: bytes
    provider: str
    api_key: str | None  # the bearer token, if any

    @property
    def full_path(self) -> str:
        text = str(self.query)
        return f"{self.path}?{text}" if text else self.path


@dataclass
class SimResponse:
    """What a handler answers; rendered by the app after faults had their say."""

    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # overrides payload (malformed bodies)
    media_type: str = "application/json"
    # The payload already rendered (large listings, assembled from cached items); `payload` is then
    # None until a fault needs to rewrite it (`materialize`).
    encoded: bytes | None = None

    def materialize(self) -> "SimResponse":
        if self.encoded is not None:
            self.payload, self.encoded = json.loads(self.encoded), None
        return self
