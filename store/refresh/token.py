"""The token a provider hands back. Pure value; its repr never shows the secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer secret and when it stops working.

    ``issued_at`` is when we obtained it (our clock), so the scheduler can scale its timings to
    the token's lifetime; a token read back from the store without it is treated as having been
    issued ``DEFAULT_LIFETIME`` before it expires (see :func:`lifetime`).

    ``refresh_by`` is for secrets that stay valid long after they should be looked at again (a
    password kept in Vault's KV store): the provider asks to be asked again by then, so a change
    at the source arrives in time, while ``expires_at`` still says how long the secret may be
    served when the source cannot be reached.
    """

    secret: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime | None = None
    refresh_by: datetime | None = None

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("Token.expires_at must be timezone-aware")
        if self.issued_at is not None and self.issued_at.tzinfo is None:
            raise ValueError("Token.issued_at must be timezone-aware")
        if self.refresh_by is not None and self.refresh_by.tzinfo is None:
            raise ValueError("Token.refresh_by must be timezone-aware")

    def __repr__(self) -> str:
        issued = self.issued_at.isoformat() if self.issued_at else None
        expires = self.expires_at.isoformat()
        by = f", refresh_by={self.refresh_by.isoformat()}" if self.refresh_by else ""
        return f"Token(secret=<redacted>, expires_at={expires}, issued_at={issued}{by})"

    def remaining(self, now: datetime) -> timedelta:
        return self.expires_at - now

    def is_valid(self, now: datetime) -> bool:
        return bool(self.secret) and now < self.expires_at

    @property
    def lifetime(self) -> timedelta:
        """How long the token was meant to live; never shorter than one second."""
        if self.issued_at is None or self.issued_at >= self.expires_at:
            return DEFAULT_LIFETIME
        return max(self.expires_at - self.issued_at, MIN_LIFETIME)

    @property
    def refresh_span(self) -> timedelta:
        """How long the token should be used before asking again: its lifetime, or the time up
        to ``refresh_by`` when that comes first; never shorter than one second."""
        if self.refresh_by is None or self.refresh_by >= self.expires_at:
            return self.lifetime
        start = self.expires_at - self.lifetime
        return max(self.refresh_by - start, MIN_LIFETIME)


DEFAULT_LIFETIME = timedelta(hours=1)
MIN_LIFETIME = timedelta(seconds=1)
