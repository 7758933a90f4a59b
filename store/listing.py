"""What ``idx-auth list``, ``status`` and the agent's ``list`` show of an entry: never a secret.

Shared by the agent (which adds its refresh plan) and the CLI reading the file without an agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.model import Entry
from store.refresh.state import format_time, stored_state


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """One entry as `list` and `status` show it: never the secret."""

    service: str
    username: str | None
    scheme: str
    expires_at: str | None = None  # RFC 3339, set by token refresh
    refresh: str | None = None  # refresh provider kind, if any
    refreshed_at: str | None = None  # last successful refresh (RFC 3339)
    last_error: str | None = None  # why the last attempt failed, if it did (one line)
    failures: int = 0  # failed attempts since the last success
    next_refresh: str | None = None  # the agent's next planned attempt (RFC 3339)
    last_attempt: str | None = None  # the agent's last attempt, this run (RFC 3339)
    kind: str = "index"  # "keyring" for a plain keyring name (`keyring set myapp alice`)
    has_secret: bool = True  # False for a username-only entry


def entry_info(entry: Entry) -> EntryInfo:
    """What `list` and `status` show of an entry (no secret, no provider setting)."""
    kind = "keyring" if entry.plain else "index"
    has_secret = entry.secret is not None
    if not entry.refresh:
        return EntryInfo(
            entry.service,
            entry.username,
            entry.scheme,
            _time(entry.expires_at),
            kind=kind,
            has_secret=has_secret,
        )
    state = stored_state(entry)
    return EntryInfo(
        entry.service,
        entry.username,
        entry.scheme,
        _time(entry.expires_at),
        dict(entry.refresh).get("provider"),
        refreshed_at=_time(state.last_success),
        last_error=state.last_error,
        failures=state.failures,
        kind=kind,
        has_secret=has_secret,
    )


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None
