import base64
import os
import stat

import pytest

from integhub.crypto import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    context_for,
    fingerprint,
    generate_key,
    load_key_ring,
    mask,
    token_key_id,
)

K1, K2 = generate_key(), generate_key()
CTX = context_for("c0ffee00-0000-0000-0000-000000000001", "calcom", "api_key")


def test_round_trip_and_random_nonce():
    ring = KeyRing.from_string(K1)
    a, b = ring.encrypt("cal_secret_value_1234", CTX), ring.encrypt("cal_secret_value_1234", CTX)
    assert a != b
    assert ring.decrypt(a, CTX) == ring.decrypt(b, CTX) == "cal_secret_value_1234"
    assert "cal_secret" not in a


def test_tampering_is_detected():
    ring = KeyRing.from_string(K1)
    token = ring.encrypt("cal_secret_value_1234", CTX)
    head, body = token.rsplit(":", 1)
    blob = bytearray(base64.urlsafe_b64decode(body))
    for i in (0, 12, len(blob) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptionError):
            ring.decrypt(f"{head}:{base64.urlsafe_b64encode(bytes(tampered)).decode()}", CTX)


def test_ciphertext_is_bound_to_its_row_and_field():
    ring = KeyRing.from_string(K1)
    token = ring.encrypt("cal_secret_value_1234", CTX)
    for other in (context_for("c0ffee00-0000-0000-0000-000000000002", "calcom", "api_key"),
                  context_for("c0ffee00-0000-0000-0000-000000000001", "retell", "api_key"),
                  context_for("c0ffee00-0000-0000-0000-000000000001", "calcom", "webhook_secret")):
        with pytest.raises(DecryptionError):
            ring.decrypt(token, other)


def test_first_key_encrypts_all_keys_decrypt():
    old = KeyRing.from_string(K1)
    token = old.encrypt("key_retell_abcdef", CTX)
    ring = KeyRing.from_string(f"{K2},{K1}")
    assert ring.decrypt(token, CTX) == "key_retell_abcdef"
    assert token_key_id(ring.encrypt("x", CTX)) == ring.primary_id != token_key_id(token)
    with pytest.raises(DecryptionError):
        KeyRing.from_string(K2).decrypt(token, CTX)


def test_bad_keys_are_refused_without_echoing_them():
    with pytest.raises(KeyRingError) as exc:
        KeyRing.from_string("not-a-key")
    assert "not-a-key" not in str(exc.value)
    with pytest.raises(KeyRingError):
        KeyRing.from_string(f"{K1},{K1}")


def test_reprs_hold_no_key_material():
    ring = KeyRing.from_string(K1)
    assert K1 not in repr(ring) and K1[:10] not in repr(ring)


def test_mask_and_fingerprint():
    assert mask("cal_0123456789abcdef0123456789ab3f9a") == "cal_…3f9a"
    assert mask("cal_live_0123456789abcdef0123456789ab3f9a") == "cal_live_…3f9a"
    assert mask("short") == "…"
    fp = fingerprint("cal_0123456789abcdef0123456789ab3f9a")
    assert fp.startswith("sha256:") and len(fp) == 23
    assert fingerprint("a") != fingerprint("b")


def test_generated_key_file_is_private(tmp_path):
    path = tmp_path / "data" / "encryption.key"
    ring, notice = load_key_ring(None, path)
    assert notice and str(path) in notice
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, notice2 = load_key_ring(None, path)
    assert notice2 is None and again.primary_id == ring.primary_id
