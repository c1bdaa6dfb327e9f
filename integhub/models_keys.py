"""How many stored secrets each encryption key protects, kept current by the database itself.

Migration 0006_rollup_and_key_counts creates the tables and triggers on integration_configs that
append +n/−n per key id to secret_key_count_changes whenever api_key or webhook_secret is inserted,
changed or deleted (whichever code path writes it: the save flow, webhook registration, rotation,
imports, bulk inserts). The count of a key is its secret_key_counts row plus its changes;
integhub/services/keys.py folds the changes in now and then. The key-management page reads these
few rows instead of every ciphertext.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntPK

# key_id of values that are not integhub ciphertexts ("ih1:<key id>:…"); no key id contains ":".
UNRECOGNISED = ":"


class SecretKeyCount(Base):
    __tablename__ = "secret_key_counts"
    key_id: Mapped[str] = mapped_column(Text, primary_key=True)
    secrets: Mapped[int] = mapped_column(BigInteger, default=0)


class SecretKeyCountChange(Base):
    __tablename__ = "secret_key_count_changes"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(Text)
    delta: Mapped[int] = mapped_column(Integer)
