"""What every token provider offers, and the small helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from store.refresh.errors import ProviderConfigError
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

if TYPE_CHECKING:
    import httpx

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class FetchContext:
    """What a fetch may use besides its spec: the clock, and an HTTP client to share (the
    caller keeps ownership of it; without one, providers that speak HTTP make their own)."""

    now: datetime
    http_client: httpx.Client | None = None


class Provider(Protocol):
    name: str
    # The username an index expects with this provider's tokens (None: the user chooses).
    default_username: str | None

    def check(self, spec: ProviderSpec) -> None:
        """Raise ProviderConfigError if ``spec`` cannot work; does no I/O."""

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        """A fresh token, or RefreshError saying why not."""


def seconds_setting(
    spec: ProviderSpec, key: str, default: float, *, low: float, high: float
) -> float:
    raw = spec.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ProviderConfigError(
            spec.provider, f"{key} must be a number of seconds, not {raw!r}"
        ) from None
    if not low <= value <= high:
        raise ProviderConfigError(
            spec.provider, f"{key} must be between {low:g} and {high:g} seconds, not {raw}"
        )
    return value


def token_after(secret: str, now: datetime, seconds: float) -> Token:
    return Token(secret, now + timedelta(seconds=seconds), issued_at=now)


def aware(moment: datetime) -> datetime:
    """SDKs hand back naive UTC datetimes (google-auth) or aware ones (botocore)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def shown_url(url: str) -> str:
    """``url`` for a message: scheme, host and path only, so no userinfo or query slips out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", re.ASCII)


def error_code(value: object, fallback: str = "no error code") -> str:
    """A service's error code (``invalid_client``, ``AccessDeniedException``) if ``value`` is
    one -- a short ASCII word -- else ``fallback``: free text from a server is not kept."""
    return value if isinstance(value, str) and _ERROR_CODE.fullmatch(value) else fallback
