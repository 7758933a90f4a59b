"""The agent's in-memory refresh bookkeeping: pure values, no clock, no store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from store.refresh import roster
from store.refresh.roster import Action
from store.refresh.schedule import failed
from store.refresh.state import RefreshState
from store.refresh.token import Token

T0 = datetime(2030, 1, 1, tzinfo=UTC)
A: roster.Key = ("https://a.example/", "u")
B: roster.Key = ("https://b.example/", None)


def half() -> float:
    return 0.5


def stored(expires: float, issued: float = 0.0, **more: object) -> RefreshState:
    """A state as read from the store: placeholder secret, whole seconds, no plan."""
    token = Token("-", T0 + timedelta(seconds=expires), T0 + timedelta(seconds=issued))
    return RefreshState(token=token, last_success=token.issued_at, **more)  # type: ignore[arg-type]


def test_new_entries_are_planned_and_removed_ones_dropped() -> None:
    known = {B: stored(100)}
    result = roster.reconcile(known, {A: stored(100)}, T0, half)
    assert set(result) == {A}
    assert result[A].next_attempt == T0 + timedelta(seconds=75)


def test_a_plan_is_kept_while_the_store_agrees() -> None:
    mine = replace(stored(100), next_attempt=T0 + timedelta(seconds=80))
    result = roster.reconcile({A: mine}, {A: stored(100)}, T0, half)
    assert result[A] is mine


def test_a_store_changed_by_someone_else_is_planned_afresh() -> None:
    mine = replace(stored(100), next_attempt=T0 + timedelta(seconds=80))
    theirs = stored(200, issued=100)  # another process refreshed
    result = roster.reconcile({A: mine}, {A: theirs}, T0 + timedelta(seconds=100), half)
    assert result[A].next_attempt == T0 + timedelta(seconds=175)


def test_the_agents_own_result_matches_what_it_wrote() -> None:
    # A token fetched just now has microseconds and a real secret; the file has neither.
    fetched = Token("secret!", T0 + timedelta(seconds=100.7), T0 + timedelta(seconds=0.7))
    mine = RefreshState(token=fetched, last_success=fetched.issued_at, last_attempt=T0)
    assert roster.same_history(roster.stored_form(mine), mine)
    bare = roster.without_secret(mine).token
    assert bare is not None and bare.secret == "-" and bare.expires_at == fetched.expires_at
    merged = roster.reconcile({A: mine}, {A: roster.stored_form(mine)}, T0, half)
    assert merged[A] is mine


def test_adopt_carries_the_plan_only_onto_the_same_history() -> None:
    plan = T0 + timedelta(seconds=71)
    mine = replace(stored(100), next_attempt=plan, last_attempt=T0)
    assert roster.adopt(stored(100), mine).next_attempt == plan
    assert roster.adopt(stored(150, issued=50), mine).next_attempt is None
    assert roster.adopt(stored(100), None).next_attempt is None


def test_failures_recorded_elsewhere_count_as_a_change() -> None:
    theirs = stored(100, failures=2, last_error="oauth2 provider: HTTP 500")
    result = roster.reconcile({A: stored(100)}, {A: theirs}, T0, half)
    # Retry after a backoff, not at the refresh point.
    planned = result[A].next_attempt
    assert planned is not None and T0 < planned < T0 + timedelta(seconds=75)


def test_due_and_next_wake() -> None:
    states = {
        A: replace(stored(100), next_attempt=T0 + timedelta(seconds=5)),
        B: replace(stored(100), next_attempt=T0 + timedelta(seconds=2)),
    }
    assert roster.due(states, T0) == []
    assert roster.due(states, T0 + timedelta(seconds=9)) == [B, A]
    assert roster.next_wake(states) == T0 + timedelta(seconds=2)
    assert roster.next_wake({}) is None


def test_on_lookup() -> None:
    token = stored(100).token

    def at(seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    assert roster.on_lookup(token, None, at(seconds=50)) is Action.SERVE
    assert roster.on_lookup(token, None, at(seconds=95)) is Action.REFRESH
    assert roster.on_lookup(token, None, at(seconds=101)) is Action.REFRESH
    assert roster.on_lookup(None, None, T0) is Action.REFRESH
    # A failed attempt's retry is pending: serve what is valid, nothing when it is not.
    waiting = failed(stored(100), "down", at(seconds=94.5), half)
    assert waiting.next_attempt is not None and waiting.next_attempt > at(seconds=95)
    assert roster.on_lookup(token, waiting, at(seconds=95)) is Action.SERVE
    assert roster.on_lookup(token, waiting, at(seconds=100)) is Action.REFRESH  # retry time
    after_expiry = failed(stored(100), "down", at(seconds=99.5), half)
    assert roster.on_lookup(token, after_expiry, at(seconds=100)) is Action.NOTHING
    assert roster.on_lookup(token, waiting, waiting.next_attempt) is Action.REFRESH
