"""The timing rules, as properties over lifetimes from one second to a day."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from store.refresh import schedule
from store.refresh.schedule import Reason
from store.refresh.state import RefreshState
from store.refresh.token import Token

T0 = datetime(2030, 1, 1, tzinfo=UTC)
lifetimes = st.floats(min_value=1.0, max_value=86400.0).map(lambda s: timedelta(seconds=s))
units = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
seeds = st.integers(min_value=0, max_value=2**32)


def token(lifetime: timedelta, issued: datetime = T0) -> Token:
    return Token("s3cret", issued + lifetime, issued_at=issued)


def fixed(value: float) -> schedule.RandomSource:
    return lambda: value


@given(lifetimes, units)
def test_refresh_point_is_three_quarters_in_with_jitter(lifetime: timedelta, u: float) -> None:
    tok = token(lifetime)
    at = schedule.refresh_at(tok, fixed(u))
    fraction = (at - T0) / lifetime
    assert T0 < at < tok.expires_at
    slack = 2e-6 / lifetime.total_seconds()  # timedelta keeps whole microseconds
    assert 0.70 - slack <= fraction <= 0.80 + slack


def test_jitter_spreads_refresh_points() -> None:
    tok = token(timedelta(hours=1))
    rng = random.Random(7)
    points = {schedule.refresh_at(tok, rng.random) for _ in range(50)}
    assert len(points) > 40


@given(lifetimes, st.integers(min_value=1, max_value=200), units)
def test_backoff_is_positive_and_capped(lifetime: timedelta, failures: int, u: float) -> None:
    delay = schedule.backoff(failures, lifetime, fixed(u))
    assert delay > timedelta(0)
    assert delay <= schedule.MAX_BACKOFF * 1.1
    # Never longer than a sixteenth of the lifetime, give or take jitter and the 10 ms floor.
    assert delay <= max(lifetime / 16, schedule.MIN_BACKOFF) * 1.1


@given(lifetimes, st.integers(min_value=1, max_value=60))
def test_backoff_grows_with_failures(lifetime: timedelta, failures: int) -> None:
    half = fixed(0.5)
    assert schedule.backoff(failures + 1, lifetime, half) >= schedule.backoff(
        failures, lifetime, half
    )


@given(lifetimes, seeds)
def test_several_retries_fit_before_the_token_expires(lifetime: timedelta, seed: int) -> None:
    # Every attempt from the refresh point on fails: count the attempts made while the current
    # token is still valid. Hours or seconds, there must be several.
    rng = random.Random(seed)
    tok = token(lifetime)
    moment = schedule.refresh_at(tok, rng.random)
    attempts = 0
    while moment < tok.expires_at:
        attempts += 1
        moment += schedule.backoff(attempts, tok.lifetime, rng.random)
    assert attempts >= 4


@given(lifetimes, units, st.floats(min_value=0, max_value=2))
def test_due_and_expiring_predicates(lifetime: timedelta, u: float, at: float) -> None:
    tok = token(lifetime)
    now = T0 + lifetime * at
    if schedule.is_expired(tok, now):
        assert schedule.is_nearly_expired(tok, now)
    if schedule.is_nearly_expired(tok, now):
        assert schedule.is_due(tok, now)  # nearly expired is always past the refresh point
    assert schedule.is_due(tok, now) == (now >= schedule.due_at(tok))
    assert schedule.is_expired(tok, now) == (now >= tok.expires_at)


def test_nothing_at_all_is_due_and_expired() -> None:
    assert schedule.is_expired(None, T0)
    assert schedule.is_nearly_expired(None, T0)
    assert schedule.is_due(None, T0)


def test_nearly_expired_margin_is_capped_at_a_minute() -> None:
    tok = token(timedelta(hours=12))
    assert not schedule.is_nearly_expired(tok, tok.expires_at - timedelta(seconds=61))
    assert schedule.is_nearly_expired(tok, tok.expires_at - timedelta(seconds=59))


@given(lifetimes, st.floats(min_value=-1, max_value=2), st.floats(min_value=-1, max_value=2))
def test_choose_never_trades_a_valid_token_for_nothing(
    lifetime: timedelta, fresh_at: float, now_at: float
) -> None:
    current = token(lifetime)
    fresh = Token("new", T0 + lifetime * fresh_at, issued_at=T0)
    now = T0 + lifetime * now_at
    assert schedule.choose(current, None, now) is current
    kept = schedule.choose(current, fresh, now)
    assert kept is not None
    if kept is fresh:
        assert fresh.is_valid(now)
    else:
        assert kept is current and not fresh.is_valid(now)


def test_empty_fresh_token_is_not_taken() -> None:
    current = token(timedelta(hours=1))
    assert schedule.choose(current, Token("", T0 + timedelta(hours=2)), T0) is current


@given(lifetimes, seeds, st.lists(st.booleans(), min_size=1, max_size=30))
def test_folding_outcomes_keeps_a_token_and_counts_failures(
    lifetime: timedelta, seed: int, outcomes: list[bool]
) -> None:
    rng = random.Random(seed)
    state = RefreshState(token=token(lifetime))
    now = T0
    streak = 0
    for ok in outcomes:
        now += lifetime / 10
        if ok:
            state = schedule.succeeded(state, token(lifetime, now), now, rng.random)
            streak = 0
            assert state.last_success == now and state.last_error is None
        else:
            state = schedule.failed(state, "boom\nsecond line", now, rng.random)
            streak += 1
            assert state.last_error == "boom second line"
        assert state.token is not None
        assert state.failures == streak
        assert state.next_attempt is not None and state.next_attempt >= now


def test_success_plans_the_next_refresh_at_the_refresh_point() -> None:
    lifetime = timedelta(seconds=100)
    state = schedule.succeeded(RefreshState(), token(lifetime), T0, fixed(0.5))
    assert state.next_attempt == T0 + timedelta(seconds=75)


def test_a_fresh_token_already_expired_counts_as_failure() -> None:
    current = token(timedelta(hours=1))
    state = RefreshState(token=current)
    stale = Token("old", T0 - timedelta(seconds=1), issued_at=T0 - timedelta(hours=1))
    after = schedule.succeeded(state, stale, T0, fixed(0.5))
    assert after.token is current
    assert after.failures == 1 and after.last_error


def test_should_attempt_by_reason() -> None:
    tok = token(timedelta(seconds=100))
    fresh_state = RefreshState(token=tok)
    early = T0 + timedelta(seconds=10)
    late = T0 + timedelta(seconds=80)
    ending = T0 + timedelta(seconds=95)
    assert schedule.should_attempt(fresh_state, Reason.FORCE, early)
    assert not schedule.should_attempt(fresh_state, Reason.DUE, early)
    assert schedule.should_attempt(fresh_state, Reason.DUE, late)
    assert not schedule.should_attempt(fresh_state, Reason.EXPIRING, late)
    assert schedule.should_attempt(fresh_state, Reason.EXPIRING, ending)
    assert not schedule.should_attempt(fresh_state, Reason.SCHEDULED, early)
    planned = RefreshState(token=tok, next_attempt=early)
    assert schedule.should_attempt(planned, Reason.SCHEDULED, early)
    assert not schedule.should_attempt(planned, Reason.SCHEDULED, early - timedelta(seconds=1))


# --- a provider's refresh_by (a KV secret: valid long after it should be read again) --------


@given(
    st.floats(min_value=1.0, max_value=3600.0),
    st.floats(min_value=1.5, max_value=1000.0),
    units,
)
def test_refresh_by_brings_the_refresh_point_forward(span: float, factor: float, u: float) -> None:
    soft = T0 + timedelta(seconds=span)
    tok = Token("s", T0 + timedelta(seconds=span * factor), issued_at=T0, refresh_by=soft)
    at = schedule.refresh_at(tok, fixed(u))
    assert soft - timedelta(seconds=span) * 2 * schedule.JITTER_FRACTION <= at <= soft
    assert schedule.due_at(tok) == soft
    assert not schedule.is_nearly_expired(tok, soft - timedelta(seconds=span / 2))
    assert schedule.is_nearly_expired(tok, soft)
    assert schedule.is_due(tok, soft)
    # Still valid, and served: an outage at the source is invisible until it expires.
    assert tok.is_valid(soft) and not schedule.is_expired(tok, soft)


def test_refresh_by_after_the_usual_refresh_point_changes_nothing() -> None:
    plain = token(timedelta(hours=1))
    late = Token("s", plain.expires_at, plain.issued_at, refresh_by=T0 + timedelta(minutes=59))
    assert schedule.refresh_at(late, fixed(0.5)) == schedule.refresh_at(plain, fixed(0.5))
    assert schedule.due_at(late) == schedule.due_at(plain)


def test_after_refresh_by_a_failure_keeps_the_secret_and_plans_a_retry() -> None:
    tok = Token("s", T0 + timedelta(days=1), T0, refresh_by=T0 + timedelta(minutes=5))
    state = RefreshState(token=tok, last_success=T0)
    at = T0 + timedelta(minutes=5)
    assert schedule.should_attempt(state, Reason.EXPIRING, at)
    after = schedule.failed(state, "vault down", at, fixed(0.5))
    assert after.token is tok and after.failures == 1
    assert after.next_attempt is not None and at < after.next_attempt <= at + timedelta(minutes=1)
