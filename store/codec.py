"""TOML text <-> :class:`~store.model.Document`. Pure.

The file is uv's ``credentials.toml`` schema (``[[credential]]`` with ``service``, ``username``,
``scheme``, ``password``/``token``), so uv's own parser reads it; our extras are keys uv ignores:
an ``[idx-auth]`` header table, ``expires-at``, a ``refresh`` table and a ``mac`` per entry,
and ``[[idx-auth.plain]]`` for keyring service names that are not index URLs.

Decoding checks shape and bounds only; whether the fields are the ones the key wrote is
:meth:`store.sealing.Sealer.verify`'s question. Every failure is a :class:`CodecError` naming
the part, whatever the text holds (nesting 100,000 deep, absurd numbers, the wrong types).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from store.crypto import is_sealed, kdf_problem
from store.model import (
    FORMAT_VERSION,
    LEGACY_FORMAT,
    SCHEMES,
    Document,
    Entry,
    Header,
    KdfParams,
    Scheme,
)

READABLE_FORMATS = (LEGACY_FORMAT, FORMAT_VERSION)
MAX_GENERATION = 2**62
MAX_NAME = 256  # key id, store id


class CodecError(Exception):
    """The text is not a valid store; the message names the offending part."""


def decode(text: str) -> Document:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CodecError(f"not valid TOML ({exc})") from None
    except RecursionError:
        # Our schema nests four levels; tomllib recurses per level of arrays and inline tables.
        raise CodecError("arrays or tables nested too deeply") from None
    header = _decode_header(data.get("idx-auth"))
    raw_entries = data.get("credential", [])
    if not isinstance(raw_entries, list):
        raise CodecError("'credential' must be an array of tables")
    entries = [_decode_entry(raw, i, plain=False) for i, raw in enumerate(raw_entries)]
    plain_raw = data.get("idx-auth", {}).get("plain", [])
    if not isinstance(plain_raw, list):
        raise CodecError("'idx-auth.plain' must be an array of tables")
    entries += [_decode_entry(raw, i, plain=True) for i, raw in enumerate(plain_raw)]
    if header is None and entries:
        # Without a header nothing in the file can be authenticated: idx-auth never writes one.
        raise CodecError("entries without the [idx-auth] header (which names the key) are refused")
    if header is not None and header.format == FORMAT_VERSION:
        for i, entry in enumerate(entries):
            if entry.mac is None:
                raise CodecError(f"entry {i + 1} ({entry.service}) has no 'mac'")
    return Document(header=header, entries=tuple(entries))


def _decode_header(raw: object) -> Header | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CodecError("'idx-auth' must be a table")
    fmt = raw.get("format")
    if fmt not in READABLE_FORMATS or isinstance(fmt, bool):
        raise CodecError(
            f"unsupported store format {fmt!r} (this version reads formats 1 and 2; "
            "a newer idx-auth wrote it?)"
        )
    kdf_raw = raw.get("kdf")
    kdf = None
    if kdf_raw is not None:
        if not isinstance(kdf_raw, dict):
            raise CodecError("'idx-auth.kdf' must be a table")
        kdf = KdfParams(
            salt=_str(kdf_raw, "salt", "idx-auth.kdf"),
            memory_kib=_int(kdf_raw, "memory-kib"),
            iterations=_int(kdf_raw, "iterations"),
            lanes=_int(kdf_raw, "lanes"),
        )
        problem = kdf_problem(kdf)
        if problem is not None:
            raise CodecError(f"idx-auth.kdf: {problem}")
    source = _str(raw, "key-source", "idx-auth")
    if source not in ("file", "passphrase"):
        raise CodecError(f"unknown key-source {source!r} (expected 'file' or 'passphrase')")
    if source == "passphrase" and kdf is None:
        raise CodecError("a passphrase store needs an [idx-auth.kdf] table")
    key_id = _str(raw, "key-id", "idx-auth")
    if len(key_id) > MAX_NAME:
        raise CodecError("idx-auth: 'key-id' is too long")
    store_id, generation, mac = None, 0, None
    if fmt == FORMAT_VERSION:
        store_id = _str(raw, "store-id", "idx-auth")
        if len(store_id) > MAX_NAME:
            raise CodecError("idx-auth: 'store-id' is too long")
        generation = _int(raw, "generation", "idx-auth")
        mac = _str(raw, "mac", "idx-auth")
    return Header(
        key_id=key_id,
        key_source=source,
        wrapped_key=_str(raw, "wrapped-key", "idx-auth"),
        kdf=kdf,
        format=fmt,
        store_id=store_id,
        generation=generation,
        mac=mac,
    )


def _decode_entry(raw: object, index: int, *, plain: bool) -> Entry:
    where = f"{'idx-auth.plain' if plain else 'credential'} entry {index + 1}"
    if not isinstance(raw, dict):
        raise CodecError(f"{where} is not a table")
    service = _str(raw, "service", where)
    username = _opt_str(raw, "username", where)
    scheme_raw = raw.get("scheme", "basic")
    if scheme_raw not in SCHEMES:
        raise CodecError(f"{where} ({service}): unknown scheme {scheme_raw!r}")
    scheme: Scheme = scheme_raw
    password = _opt_str(raw, "password", where)
    token = _opt_str(raw, "token", where)
    if scheme == "basic":
        if token is not None:
            raise CodecError(f"{where} ({service}): a basic entry cannot have a token")
        if username is None and not plain:
            raise CodecError(f"{where} ({service}): a basic entry needs a username")
        secret = password
    else:
        if username is not None or password is not None:
            raise CodecError(f"{where} ({service}): a bearer entry takes no username or password")
        if token is None:
            raise CodecError(f"{where} ({service}): a bearer entry needs a token")
        secret = token
    if secret is not None and not is_sealed(secret):
        raise CodecError(
            f"{where} ({service}) holds a plaintext secret; "
            "move the file aside and bring it in with 'idx-auth import'"
        )
    expires = raw.get("expires-at")
    if expires is not None and not isinstance(expires, datetime):
        raise CodecError(f"{where} ({service}): 'expires-at' must be a TOML date-time")
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        try:
            expires = expires.astimezone(UTC)
        except OverflowError:
            raise CodecError(f"{where} ({service}): 'expires-at' is out of range") from None
    refresh_raw = raw.get("refresh", {})
    if not isinstance(refresh_raw, dict) or not all(
        isinstance(v, str) for v in refresh_raw.values()
    ):
        raise CodecError(f"{where} ({service}): 'refresh' must be a table of strings")
    return Entry(
        service=service,
        username=username,
        scheme=scheme,
        secret=secret,
        plain=plain,
        expires_at=expires,
        refresh=tuple(sorted(refresh_raw.items())),
        mac=_opt_str(raw, "mac", where),
    )


def _str(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise CodecError(f"{where}: '{key}' must be a non-empty string")
    return value


def _opt_str(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CodecError(f"{where}: '{key}' must be a string")
    return value


def _int(raw: dict[str, Any], key: str, where: str = "idx-auth.kdf") -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < MAX_GENERATION:
        raise CodecError(f"{where}: '{key}' must be a positive integer")
    return value


def encode(doc: Document) -> str:
    import tomli_w  # only writers pay for it; lookups only decode

    out: dict[str, Any] = {}
    # uv writes an empty store as `credential = []`; a top-level key must precede the tables.
    out["credential"] = [_encode_entry(e) for e in doc.entries if not e.plain]
    if doc.header is not None:
        h = doc.header
        head: dict[str, Any] = {
            "format": h.format,
            "key-id": h.key_id,
            "key-source": h.key_source,
            "wrapped-key": h.wrapped_key,
        }
        if h.store_id is not None:
            head["store-id"] = h.store_id
            head["generation"] = h.generation
        if h.mac is not None:
            head["mac"] = h.mac
        if h.kdf is not None:
            head["kdf"] = {
                "salt": h.kdf.salt,
                "memory-kib": h.kdf.memory_kib,
                "iterations": h.kdf.iterations,
                "lanes": h.kdf.lanes,
            }
        plain = [_encode_entry(e) for e in doc.entries if e.plain]
        if plain:
            head["plain"] = plain
        out["idx-auth"] = head
    return tomli_w.dumps(out)


def _encode_entry(entry: Entry) -> dict[str, Any]:
    # uv's field order: service, username, scheme, password | token.
    item: dict[str, Any] = {"service": entry.service}
    if entry.username is not None:
        item["username"] = entry.username
    item["scheme"] = entry.scheme
    if entry.secret is not None:
        item[entry.field_name] = entry.secret
    if entry.expires_at is not None:
        item["expires-at"] = entry.expires_at.astimezone(UTC).replace(microsecond=0)
    if entry.refresh:
        item["refresh"] = dict(entry.refresh)
    if entry.mac is not None:
        item["mac"] = entry.mac
    return item
