"""The agent's picture of every refreshable entry, and what a lookup should do. Pure values.

The agent keeps one :class:`~store.refresh.state.RefreshState` per entry in memory, because the
store keeps only the persistent half of it (token expiry, last success, last error, failures):
the planned next attempt and the moment of the last attempt live here. The file stays the
truth: whenever it shows a state the agent did not produce (another process logged in again,
ran ``idx-auth refresh`` or refreshed on lookup), the entry is planned afresh from the file.

Secrets have no place here: tokens are kept with a placeholder secret, only for their times.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from store.refresh import schedule
from store.refresh.schedule import RandomSource, prime
from store.refresh.state import RefreshState, state_fields, state_from_fields
from store.refresh.token import Token

Key = tuple[str, str | None]  # (service, username) of a stored entry
PLACEHOLDER = "-"


def without_secret(state: RefreshState) -> RefreshState:
    token = state.token
    if token is None or token.secret == PLACEHOLDER:
        return state
    return replace(state, token=replace(token, secret=PLACEHOLDER))


def stored_form(state: RefreshState) -> RefreshState:
    """``state`` as it reads back from the store: whole seconds, no plan, placeholder secret."""
    token = state.token
    expires = token.expires_at.replace(microsecond=0) if token is not None else None
    return state_from_fields(
        state_fields(state), PLACEHOLDER if token is not None else None, expires
    )


def same_history(stored: RefreshState, known: RefreshState | None) -> bool:
    """Whether the store still shows what ``known`` describes (nobody else wrote since)."""
    return known is not None and stored_form(stored) == stored_form(known)


def adopt(stored: RefreshState, known: RefreshState | None) -> RefreshState:
    """The state to decide with: the store's, carrying the agent's plan when it still applies."""
    if known is None or not same_history(stored, known):
        return stored
    return replace(stored, next_attempt=known.next_attempt, last_attempt=known.last_attempt)


def reconcile(
    known: Mapping[Key, RefreshState],
    stored: Mapping[Key, RefreshState],
    now: datetime,
    rand: RandomSource,
) -> dict[Key, RefreshState]:
    """The entries now in the store, each with a plan: kept from ``known`` where the store
    agrees, planned afresh where it is new or was changed by someone else; removed ones drop."""
    result: dict[Key, RefreshState] = {}
    for key, state in stored.items():
        mine = known.get(key)
        if mine is not None and same_history(state, mine):
            result[key] = mine
        else:
            result[key] = without_secret(prime(stored_form(state), now, rand))
    return result


def due(states: Mapping[Key, RefreshState], now: datetime) -> list[Key]:
    """Entries whose planned attempt has come, earliest first."""
    ready = [
        (s.next_attempt, k)
        for k, s in states.items()
        if s.next_attempt is not None and s.next_attempt <= now
    ]
    return [k for _, k in sorted(ready, key=lambda pair: pair[0])]


def next_wake(states: Mapping[Key, RefreshState]) -> datetime | None:
    planned = [s.next_attempt for s in states.values() if s.next_attempt is not None]
    return min(planned) if planned else None


class Action(enum.Enum):
    """What the agent does with a lookup that found an entry with a provider."""

    SERVE = "serve"  # the token is valid and not about to expire (or a retry is pending)
    REFRESH = "refresh"  # refresh first (off the event loop), then serve what is valid
    NOTHING = "nothing"  # expired, and the retry plan says not yet: answer nothing


def on_lookup(token: Token | None, known: RefreshState | None, now: datetime) -> Action:
    """A lookup never gets an expired token. One that finds its token expired or nearly so
    refreshes first, unless a failed attempt's retry is still pending -- then a still-valid
    token is served and an expired one is not, so an outage is not hammered by lookups."""
    if not schedule.is_nearly_expired(token, now):
        return Action.SERVE
    planned = known.next_attempt if known is not None else None
    if known is None or known.failures == 0 or planned is None or planned <= now:
        return Action.REFRESH
    return Action.SERVE if not schedule.is_expired(token, now) else Action.NOTHING
