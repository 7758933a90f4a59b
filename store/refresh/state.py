"""What the refresh routine knows about one entry between attempts. Pure values.

The token and its expiry live in the entry itself (secret + ``expires-at``); the rest can be
kept beside the provider settings in the entry's ``refresh`` table as strings
(:func:`state_fields` / :func:`state_from_fields`) so ``idx-auth status`` and a refresh run by
a timer see the same history as the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from store.model import Entry
from store.redaction import summary
from store.refresh.token import Token

# A failure message kept in the file is for a person reading `status`: one short line.
MAX_ERROR_LENGTH = 300


@dataclass(frozen=True, slots=True)
class RefreshState:
    """An entry's token and the refresh history that plans the next attempt."""

    token: Token | None = None
    failures: int = 0  # consecutive failed attempts since the last success
    last_error: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    next_attempt: datetime | None = None  # None: as soon as the token is due


def state_fields(state: RefreshState) -> dict[str, str]:
    """The persistent part of ``state`` as ``refresh`` table keys (no secret among them)."""
    fields: dict[str, str] = {}
    if state.last_success is not None:
        fields["refreshed-at"] = format_time(state.last_success)
    if state.token is not None and state.token.refresh_by is not None:
        fields["refresh-by"] = format_time(state.token.refresh_by)
    if state.last_error:
        fields["last-error"] = one_line(state.last_error)
    if state.failures:
        fields["failures"] = str(state.failures)
    return fields


def state_from_fields(
    fields: Mapping[str, str], secret: str | None, expires_at: datetime | None
) -> RefreshState:
    """The state of an entry read from the store: its secret, ``expires-at`` and the
    ``refresh`` table. Malformed history is dropped, not fatal: it only tunes the schedule."""
    refreshed = parse_time(fields.get("refreshed-at"))
    token = None
    if secret and expires_at is not None:
        issued = refreshed if refreshed is not None and refreshed < expires_at else None
        token = Token(secret, expires_at, issued, parse_time(fields.get("refresh-by")))
    try:
        failures = max(0, int(fields.get("failures", "0")))
    except ValueError:
        failures = 0
    return RefreshState(
        token=token,
        failures=failures,
        # A file written by an older version may hold a provider's raw text.
        last_error=one_line(fields["last-error"]) if fields.get("last-error") else None,
        last_success=refreshed,
    )


def stored_state(entry: Entry) -> RefreshState:
    """An entry's refresh history as the store keeps it, without opening the secret: the token
    is a placeholder that carries only the expiry (enough to decide what is due)."""
    return state_from_fields(
        dict(entry.refresh), "-" if entry.secret is not None else None, entry.expires_at
    )


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time, or ``None`` for a missing or malformed one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def one_line(message: str) -> str:
    """A failure message as it is kept and shown: one bounded line of printable text (no
    escape sequence or forged line survives, whoever wrote it)."""
    return summary(message, limit=MAX_ERROR_LENGTH)
