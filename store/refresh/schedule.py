"""When to refresh a token and when to retry. Pure: ``now`` and randomness are arguments.

Every timing is a fraction of the token's lifetime, so the same rules serve a CodeArtifact token
that lives twelve hours and a test token that lives three seconds:

* refresh about three quarters into the lifetime (``REFRESH_FRACTION``), jittered by
  ``JITTER_FRACTION`` of the lifetime either way so many entries (or many machines) minted
  together do not all come back at once;
* after a failure, retry with exponential backoff that starts at about 1% of the lifetime and is
  capped at 1/16 of it (and at ``MAX_BACKOFF``), so the last quarter of the lifetime holds
  several retries before the current token runs out;
* a token that is expired or within ``NEARLY_EXPIRED_FRACTION`` of its lifetime (at most
  ``NEARLY_EXPIRED_MAX``) of expiring is refreshed on lookup when no agent did it earlier.

A token whose provider asks to be asked again before it expires (``Token.refresh_by``: a KV
secret in Vault, valid until rotated) is refreshed by then instead, jittered back by
``2 * JITTER_FRACTION`` of that span, and counts as nearly expired once it has passed; its
expiry still bounds how long it is served while the provider cannot be reached.

A fetched token replaces the current one only if it is itself still valid; a failed refresh
never clears a token (:func:`choose`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from store.refresh.state import RefreshState, one_line
from store.refresh.token import Token

# Uniform in [0, 1): ``random.Random(...).random`` or a fixed value in tests.
RandomSource = Callable[[], float]

REFRESH_FRACTION = 0.75
JITTER_FRACTION = 0.05
BACKOFF_BASE_FRACTION = 0.01
BACKOFF_CAP_FRACTION = 1 / 16
BACKOFF_JITTER = 0.2  # +-10% around the nominal delay
MIN_BACKOFF = timedelta(milliseconds=10)
MAX_BACKOFF_BASE = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=15)
NEARLY_EXPIRED_FRACTION = 0.1
NEARLY_EXPIRED_MAX = timedelta(seconds=60)


class Reason(enum.Enum):
    """Why the refresh routine is being asked; decides whether it fetches."""

    SCHEDULED = "scheduled"  # the agent's loop: at the planned time (refresh point or retry)
    DUE = "due"  # `idx-auth refresh --due`: past the refresh point, ignoring retry plans
    EXPIRING = "expiring"  # a lookup without agent: only if expired or nearly so
    FORCE = "force"  # `idx-auth refresh SERVICE`: now


def refresh_at(token: Token, rand: RandomSource) -> datetime:
    """The jittered moment to refresh ``token``, strictly before it expires."""
    if _soft_deadline(token):
        assert token.refresh_by is not None
        return token.refresh_by - token.refresh_span * (2 * JITTER_FRACTION * _unit(rand))
    lifetime = token.lifetime
    fraction = REFRESH_FRACTION + JITTER_FRACTION * (2 * _unit(rand) - 1)
    return token.expires_at - lifetime * (1 - fraction)


def due_at(token: Token) -> datetime:
    """The refresh point without jitter: what a timer run (`refresh --due`) compares against."""
    if _soft_deadline(token):
        assert token.refresh_by is not None
        return token.refresh_by
    return token.expires_at - token.lifetime * (1 - REFRESH_FRACTION)


def _soft_deadline(token: Token) -> bool:
    """Whether the provider's ``refresh_by`` comes before the usual refresh point."""
    if token.refresh_by is None:
        return False
    return token.refresh_by < token.expires_at - token.lifetime * (1 - REFRESH_FRACTION)


def is_expired(token: Token | None, now: datetime) -> bool:
    return token is None or not token.is_valid(now)


def is_nearly_expired(token: Token | None, now: datetime) -> bool:
    """Expired, or so close to it that a lookup should refresh before answering."""
    if token is None or is_expired(token, now):
        return True
    if token.refresh_by is not None and now >= token.refresh_by:
        return True
    margin = min(token.lifetime * NEARLY_EXPIRED_FRACTION, NEARLY_EXPIRED_MAX)
    return token.remaining(now) <= margin


def is_due(token: Token | None, now: datetime) -> bool:
    """Past the (unjittered) refresh point, or nothing valid at all."""
    if token is None or is_expired(token, now):
        return True
    return now >= due_at(token)


def backoff(failures: int, lifetime: timedelta, rand: RandomSource) -> timedelta:
    """The wait after the ``failures``-th consecutive failure (1 = first), jittered."""
    base = _clamp(lifetime * BACKOFF_BASE_FRACTION, MIN_BACKOFF, MAX_BACKOFF_BASE)
    cap = _clamp(lifetime * BACKOFF_CAP_FRACTION, base, MAX_BACKOFF)
    exponent = min(max(failures, 1) - 1, 32)  # 2**32 * 10 ms is already far past any cap
    nominal = min(cap, base * (1 << exponent))
    factor: float = 1 + BACKOFF_JITTER * (_unit(rand) - 0.5)
    return nominal * factor


def plan(state: RefreshState, now: datetime, rand: RandomSource) -> datetime:
    """When the agent should next try: a retry after failures, else the refresh point."""
    token = state.token
    if state.failures > 0:
        lifetime = token.lifetime if token is not None else _no_token_lifetime()
        since = state.last_attempt or now
        return since + backoff(state.failures, lifetime, rand)
    if token is None or is_expired(token, now):
        return now
    return refresh_at(token, rand)


def prime(state: RefreshState, now: datetime, rand: RandomSource) -> RefreshState:
    """``state`` with its next attempt planned, for an agent that just loaded the entry."""
    return replace(state, next_attempt=plan(state, now, rand))


def should_attempt(state: RefreshState, reason: Reason, now: datetime) -> bool:
    token = state.token
    if reason is Reason.FORCE:
        return True
    if reason is Reason.EXPIRING:
        return is_nearly_expired(token, now)
    if reason is Reason.DUE:
        return is_due(token, now)
    # SCHEDULED: follow the plan; with none yet, go by the unjittered refresh point.
    if state.next_attempt is not None:
        return now >= state.next_attempt
    return is_due(token, now)


def choose(current: Token | None, fresh: Token | None, now: datetime) -> Token | None:
    """The token to keep: the fresh one if it is valid, else whatever we had (even expired --
    it is not ours to delete, and its expiry tells the user what happened)."""
    if fresh is not None and fresh.is_valid(now):
        return fresh
    return current


def succeeded(state: RefreshState, fresh: Token, now: datetime, rand: RandomSource) -> RefreshState:
    kept = choose(state.token, fresh, now)
    if kept is not fresh:
        return failed(state, "the provider returned a token that had already expired", now, rand)
    done = replace(
        state,
        token=fresh,
        failures=0,
        last_error=None,
        last_attempt=now,
        last_success=now,
        next_attempt=None,
    )
    return replace(done, next_attempt=plan(done, now, rand))


def failed(state: RefreshState, message: str, now: datetime, rand: RandomSource) -> RefreshState:
    done = replace(
        state,
        failures=state.failures + 1,
        last_error=one_line(message),
        last_attempt=now,
        next_attempt=None,
    )
    return replace(done, next_attempt=plan(done, now, rand))


def _no_token_lifetime() -> timedelta:
    # Nothing to scale to (first fetch failed, or the entry lost its token): retry on the scale
    # of a short-lived token, at most MAX_BACKOFF apart.
    return timedelta(hours=1)


def _unit(rand: RandomSource) -> float:
    value = rand()
    return min(max(value, 0.0), 1.0)


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    return max(low, min(value, high))
