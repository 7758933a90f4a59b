"""uv's plaintext ``credentials.toml``: read for ``import``, written by ``export``. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from store.model import SCHEMES, Credential


class PlaintextError(Exception):
    """The text is not a uv credentials file."""


def decode(text: str) -> list[Credential]:
    import tomllib  # here, not at import: the resolver imports this module on every run

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlaintextError(f"not valid TOML ({exc})") from None
    if "idx-auth" in data:
        raise PlaintextError("this is an idx-auth store (encrypted), not uv's plaintext file")
    raw = data.get("credential", [])
    if not isinstance(raw, list):
        raise PlaintextError("'credential' must be an array of tables")
    return [_decode_one(item, i) for i, item in enumerate(raw)]


def _decode_one(item: object, index: int) -> Credential:
    where = f"credential entry {index + 1}"
    if not isinstance(item, dict):
        raise PlaintextError(f"{where} is not a table")
    service = item.get("service")
    if not isinstance(service, str) or not service:
        raise PlaintextError(f"{where}: 'service' must be a non-empty string")
    scheme = item.get("scheme", "basic")
    if scheme not in SCHEMES:
        raise PlaintextError(f"{where} ({service}): unknown scheme {scheme!r}")
    username, password, token = (_opt(item, k, where) for k in ("username", "password", "token"))
    if scheme == "bearer":
        if token is None or username is not None or password is not None:
            raise PlaintextError(f"{where} ({service}): a bearer entry needs a token only")
        return Credential(service, None, "bearer", token)
    if username is None or token is not None:
        raise PlaintextError(f"{where} ({service}): a basic entry needs a username, no token")
    return Credential(service, username, "basic", password)


def _opt(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise PlaintextError(f"{where}: '{key}' must be a string")
    return value


def encode(creds: Iterable[Credential]) -> str:
    import tomli_w

    items: list[dict[str, str]] = []
    for c in creds:
        item = {"service": c.service}
        if c.username is not None:
            item["username"] = c.username
        item["scheme"] = c.scheme
        if c.secret is not None:
            item["token" if c.scheme == "bearer" else "password"] = c.secret
        items.append(item)
    return tomli_w.dumps({"credential": items})


def uv_store_path(env: Mapping[str, str], home: Path) -> Path:
    """Where uv keeps its plaintext store, by uv's rules."""
    from store.dirs import uv_credentials_file

    return uv_credentials_file(env, home)
