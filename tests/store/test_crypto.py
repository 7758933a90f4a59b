from __future__ import annotations

import pytest

from store import crypto
from store.model import KdfParams


def test_seal_round_trip_and_fresh_nonce() -> None:
    key = crypto.new_key()
    aad = crypto.entry_aad(1, "k1", "https://h/", "u", "basic", "password")
    a = crypto.seal(key, b"s3cret", aad)
    b = crypto.seal(key, b"s3cret", aad)
    assert a != b  # a fresh nonce each time
    assert a.startswith("enc:v1:") and "s3cret" not in a
    assert crypto.unseal(key, a, aad) == b"s3cret"


@pytest.mark.parametrize(
    "other",
    [
        (2, "k1", "https://h/", "u", "basic", "password"),
        (1, "k2", "https://h/", "u", "basic", "password"),
        (1, "k1", "https://h/x", "u", "basic", "password"),
        (1, "k1", "https://h/", "v", "basic", "password"),
        (1, "k1", "https://h/", "u", "bearer", "password"),
        (1, "k1", "https://h/", "u", "basic", "token"),
        (1, "k1", "https://h/", None, "basic", "password"),
    ],
)
def test_associated_data_binds_every_field(other: tuple[int, str, str, str, str, str]) -> None:
    key = crypto.new_key()
    sealed = crypto.seal(
        key, b"x", crypto.entry_aad(1, "k1", "https://h/", "u", "basic", "password")
    )
    with pytest.raises(crypto.CryptoError):
        crypto.unseal(key, sealed, crypto.entry_aad(*other))


def test_aad_is_unambiguous() -> None:
    assert crypto.associated_data(["a", "bc"]) != crypto.associated_data(["ab", "c"])


def test_wrong_key_and_tampering_fail() -> None:
    key = crypto.new_key()
    aad = b"aad"
    sealed = crypto.seal(key, b"value", aad)
    with pytest.raises(crypto.CryptoError):
        crypto.unseal(crypto.new_key(), sealed, aad)
    body = sealed[len(crypto.PREFIX) :]
    flipped = crypto.PREFIX + body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.CryptoError):
        crypto.unseal(key, flipped, aad)
    for bad in ("plain", crypto.PREFIX + "!!!", crypto.PREFIX + "AAAA"):
        with pytest.raises(crypto.CryptoError):
            crypto.unseal(key, bad, aad)


def test_derive_key_is_deterministic_per_salt() -> None:
    params = KdfParams(salt="c2FsdHNhbHRzYWx0c2FsdA==", memory_kib=1024, iterations=1, lanes=1)
    k1 = crypto.derive_key("correct horse", params)
    assert k1 == crypto.derive_key("correct horse", params)
    assert k1 != crypto.derive_key("wrong horse", params)
    assert len(k1) == crypto.KEY_BYTES
