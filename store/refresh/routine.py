"""One refresh step for one entry, on values: decide by the schedule, fetch, fold the result.

The same routine serves the agent's loop (``Reason.SCHEDULED``), ``idx-auth refresh [--due]``
and a lookup without an agent (``Reason.EXPIRING``, called under the store lock after re-reading
the entry, so a second concurrent lookup finds the fresh token and fetches nothing). The caller
persists ``Outcome.state``: the token into the entry's secret and ``expires-at``, and
:func:`store.refresh.state.state_fields` into its ``refresh`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from store.refresh import schedule
from store.refresh.errors import RefreshError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token
from store.refresh.schedule import RandomSource, Reason
from store.refresh.spec import ProviderSpec
from store.refresh.state import RefreshState
from store.refresh.token import Token

if TYPE_CHECKING:
    import httpx

Fetcher = Callable[[ProviderSpec, FetchContext], Token]
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one refresh attempt did, and the state to keep."""

    state: RefreshState  # what to keep; its token is never None when the old one was valid
    attempted: bool  # a fetch was made
    refreshed: bool  # state.token is a token fetched just now
    error: RefreshError | None = None  # why the attempt failed (the old token is kept)


def known_secrets(spec: ProviderSpec, state: RefreshState | None) -> list[str | None]:
    """What a provider's message must never carry: the entry's provider secrets and its
    current token."""
    secrets: list[str | None] = [value for _, value in spec.secrets]
    if state is not None and state.token is not None:
        secrets.append(state.token.secret)
    return secrets


def refresh(
    state: RefreshState,
    spec: ProviderSpec,
    *,
    now: datetime,
    reason: Reason,
    rand: RandomSource,
    http_client: httpx.Client | None = None,
    fetcher: Fetcher = fetch_token,
    clock: Clock | None = None,
) -> Outcome:
    """Fetch a new token for one entry if ``reason`` says it is time, else change nothing.

    ``now`` decides and stamps the new token's issue time; ``clock`` (default: ``now``) tells
    the time after the fetch, from which a retry is planned.
    """
    if not schedule.should_attempt(state, reason, now):
        return Outcome(state, attempted=False, refreshed=False)
    try:
        fresh = fetcher(spec, FetchContext(now=now, http_client=http_client))
    except RefreshError as exc:
        after = clock() if clock is not None else now
        shown = exc.redacted(known_secrets(spec, state))
        return Outcome(schedule.failed(state, str(shown), after, rand), True, False, shown)
    after = clock() if clock is not None else now
    kept = schedule.succeeded(state, fresh, after, rand)
    if kept.token is not fresh:
        error = TokenFetchError(spec.provider, kept.last_error or "the token was not usable")
        return Outcome(kept, True, False, error)
    return Outcome(kept, True, True)


def first_token(
    spec: ProviderSpec,
    *,
    now: datetime,
    http_client: httpx.Client | None = None,
    fetcher: Fetcher = fetch_token,
) -> Token:
    """The token ``idx-auth login --provider`` stores: fetched at once; RefreshError if the
    provider fails or hands back a token that is already expired."""
    try:
        token = fetcher(spec, FetchContext(now=now, http_client=http_client))
    except RefreshError as exc:
        raise exc.redacted(known_secrets(spec, None)) from None
    if not token.is_valid(now):
        raise TokenFetchError(
            spec.provider, "the provider returned a token that had already expired"
        )
    return token
