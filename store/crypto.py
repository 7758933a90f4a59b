"""AES-256-GCM sealing of secrets and wrapping of the data key. No I/O.

A sealed value is ``enc:v1:`` followed by urlsafe base64 of a fresh 96-bit nonce and the
ciphertext with its tag. The associated data binds the value to its place (format, key id,
service, username, scheme, field), so a ciphertext moved to another entry fails to open.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from store.model import KdfParams


def _aesgcm_class() -> Any:
    # Every `keyring get` without an agent opens a secret, so import cost counts: the public
    # module (cryptography.hazmat.primitives.ciphers.aead) drags in the whole ciphers package
    # (~2-3 ms) only to re-export the Rust class. Take the class from the binding it lives in,
    # and fall back to the public path should a cryptography release move it.
    try:
        from cryptography.hazmat.bindings._rust import openssl

        return openssl.aead.AESGCM
    except (ImportError, AttributeError):  # pragma: no cover - depends on the release
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM


if not TYPE_CHECKING:
    AESGCM = _aesgcm_class()

PREFIX = "enc:v1:"
KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16

# Argon2id cost (RFC 9106's second recommendation, lighter memory): about 0.1-0.3 s here,
# paid once per unlock, never per lookup.
DEFAULT_KDF_MEMORY_KIB = 64 * 1024
DEFAULT_KDF_ITERATIONS = 3
DEFAULT_KDF_LANES = 4


class CryptoError(Exception):
    """A value failed to open: wrong key, tampered, moved or malformed."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_key_id() -> str:
    return os.urandom(8).hex()


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # one, reused per value


def associated_data(parts: Sequence[object]) -> bytes:
    # JSON of a list keeps field boundaries unambiguous ("a","bc" never equals "ab","c").
    return _JSON.encode(list(parts)).encode()


def entry_aad(
    format_version: int,
    key_id: str,
    service: str,
    username: str | None,
    scheme: str,
    field: str,
) -> bytes:
    return associated_data([format_version, key_id, service, username, scheme, field])


def wrap_aad(format_version: int, key_id: str) -> bytes:
    return associated_data([format_version, key_id, "data-key"])


def seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(key).encrypt(nonce, plaintext, aad)
    return PREFIX + base64.urlsafe_b64encode(nonce + body).decode("ascii")


def unseal(key: bytes, sealed: str, aad: bytes) -> bytes:
    if not sealed.startswith(PREFIX):
        raise CryptoError("not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CryptoError("malformed sealed value") from exc
    if len(raw) < NONCE_BYTES + 16:
        raise CryptoError("truncated sealed value")
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise CryptoError("authentication failed") from exc


MAC_PREFIX = "mac:v1:"


def mac_key(data_key: bytes) -> bytes:
    """A key for MACs only, derived from the data key, so no value is ever both an AES-GCM key
    and an HMAC key."""
    return hmac.digest(data_key, b"idx-auth store mac key v1", "sha256")


def mac(key: bytes, parts: Sequence[object]) -> str:
    """HMAC-SHA256 over ``parts`` (encoded as :func:`associated_data`), printable."""
    digest = hmac.digest(key, associated_data(parts), "sha256")  # one-shot: a C call
    return MAC_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


def mac_matches(key: bytes, parts: Sequence[object], given: str) -> bool:
    return hmac.compare_digest(mac(key, parts).encode(), given.encode("utf-8", "replace"))


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def new_kdf_params() -> KdfParams:
    from store.model import KdfParams

    return KdfParams(
        salt=base64.b64encode(os.urandom(SALT_BYTES)).decode("ascii"),
        memory_kib=DEFAULT_KDF_MEMORY_KIB,
        iterations=DEFAULT_KDF_ITERATIONS,
        lanes=DEFAULT_KDF_LANES,
    )


# What a header may ask of the KDF. The header can only be authenticated with the key the KDF
# derives, so these bounds are what keeps a planted header from hanging or exhausting a lookup:
# at most 1 GiB for at most 10 passes (the default is 64 MiB x 3).
KDF_MEMORY_KIB = (8, 1024 * 1024)
KDF_ITERATIONS = (1, 10)
KDF_LANES = (1, 16)
KDF_SALT_BYTES = (16, 64)


def kdf_problem(params: KdfParams) -> str | None:
    """Why the header's KDF parameters are refused, or None. Pure."""
    for name, value, (low, high) in (
        ("memory-kib", params.memory_kib, KDF_MEMORY_KIB),
        ("iterations", params.iterations, KDF_ITERATIONS),
        ("lanes", params.lanes, KDF_LANES),
    ):
        if not low <= value <= high:
            return f"KDF {name} = {value} is outside {low}..{high}"
    if params.memory_kib < 8 * params.lanes:
        return "KDF memory-kib must be at least 8 per lane"
    try:
        salt = base64.b64decode(params.salt, validate=True)
    except (binascii.Error, ValueError):
        return "the KDF salt is not base64"
    low, high = KDF_SALT_BYTES
    if not low <= len(salt) <= high:
        return f"the KDF salt is {len(salt)} bytes, outside {low}..{high}"
    return None


def derive_key(passphrase: str, params: KdfParams) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    problem = kdf_problem(params)
    if problem is not None:
        raise CryptoError(problem)
    salt = base64.b64decode(params.salt, validate=True)
    kdf = Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    try:
        secret = passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise CryptoError("the passphrase is not valid UTF-8 text") from None
    return kdf.derive(secret)
