"""Engine and sessions. One `Hub` per process holds the engine, the session factory and the key ring."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings, get_settings
from .crypto import CANARY_CONTEXT, CANARY_PLAINTEXT, DecryptionError, KeyRing, load_key_ring
from .models import AppMeta


PG_TEMP_BUFFERS = "64MB"


class StartupError(Exception):
    """The hub cannot start; the message says why and what to do."""


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kw.setdefault("pool_pre_ping", True)
    if "poolclass" not in kw:
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 20)
    engine = create_engine(url, **kw)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _session_settings(dbapi_conn, _record):
            # A sync stages a long listing in a temporary table (integhub.sync.upsert): 20,000 rows are
            # some 30 MB, past the default 8 MB of temp buffers, so the table went to disk while it was
            # filled and was read back for the merge (~50 ms of a 20,000-booking sync). The buffers
            # are only taken when a session uses temporary tables.
            with dbapi_conn.cursor() as cursor:
                cursor.execute(f"SET temp_buffers = '{PG_TEMP_BUFFERS}'")
            dbapi_conn.commit()

    return engine


@dataclass
class Hub:
    engine: Engine
    keyring: KeyRing
    settings: Settings
    sessions: sessionmaker = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as s:
            with s.begin():
                yield s

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def from_env(cls, *, check_keys: bool = True, announce=None) -> "Hub":
        settings = get_settings()
        keyring, notice = load_key_ring(settings.encryption_keys, settings.key_file)
        if notice:
            (announce or (lambda m: print(m, file=sys.stderr)))(notice)
        hub = cls(make_engine(settings.database_url), keyring, settings)
        if check_keys:
            hub.verify_key_ring()
        return hub

    def verify_key_ring(self) -> None:
        """Refuse to run when the configured keys cannot decrypt what is stored (canary check).

        The first start with an empty database writes the canary under the primary key.
        """
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            with self.session() as s:
                row = s.get(AppMeta, "encryption_canary")
                if row is None:
                    s.add(AppMeta(key="encryption_canary", value=self.keyring.encrypt(CANARY_PLAINTEXT, CANARY_CONTEXT)))
                    return
                token = row.value
        except (OperationalError, ProgrammingError):
            return  # not migrated yet; `migrate` runs before anything reads secrets
        try:
            ok = self.keyring.decrypt(token, CANARY_CONTEXT) == CANARY_PLAINTEXT
        except DecryptionError:
            ok = False
        if not ok:
            raise StartupError(
                "The configured encryption keys cannot decrypt this database's secrets. "
                "Set INTEGHUB_ENCRYPTION_KEYS to the key ring the data was written with "
                "(new key first, old keys after it), then run `python -m integhub rotate-keys`."
            )


def canary_row(session: Session) -> AppMeta | None:
    return session.execute(select(AppMeta).where(AppMeta.key == "encryption_canary")).scalar_one_or_none()
