"""The refresh routine driven by a simulated agent loop over simulated time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.refresh.errors import TokenFetchError
from store.refresh.providers import FetchContext
from store.refresh.routine import first_token, refresh
from store.refresh.schedule import Reason, prime
from store.refresh.spec import ProviderSpec
from store.refresh.state import RefreshState
from store.refresh.token import Token

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SPEC = ProviderSpec.build("command", {"command": "unused"})


class Endpoint:
    """A fake provider that mints numbered tokens and is down during [down_from, down_until)."""

    def __init__(self, lifetime: timedelta, down_from: datetime, down_until: datetime) -> None:
        self.lifetime = lifetime
        self.down = (down_from, down_until)
        self.calls = 0

    def __call__(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        self.calls += 1
        if self.down[0] <= ctx.now < self.down[1]:
            raise TokenFetchError(spec.provider, "endpoint down (HTTP 500)")
        return Token(f"tok-{self.calls}", ctx.now + self.lifetime, issued_at=ctx.now)


@settings(max_examples=60)
@given(
    lifetime_s=st.floats(min_value=1, max_value=43200),
    outage_start=st.floats(min_value=0, max_value=4),
    outage_len=st.floats(min_value=0, max_value=0.1),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_agent_loop_keeps_a_valid_token_through_an_outage(
    lifetime_s: float, outage_start: float, outage_len: float, seed: int
) -> None:
    # An outage of up to a tenth of the lifetime, anywhere in five lifetimes, is never seen
    # by a user: at every wake-up the current token is valid, and refreshing resumes after.
    lifetime = timedelta(seconds=lifetime_s)
    start = T0 + lifetime * outage_start
    endpoint = Endpoint(lifetime, start, start + lifetime * outage_len)
    rng = random.Random(seed)
    state = prime(RefreshState(token=Token("tok-0", T0 + lifetime, T0)), T0, rng.random)
    refreshed = 0
    now = T0
    while now < T0 + lifetime * 5:
        assert state.next_attempt is not None
        now = state.next_attempt
        assert state.token is not None and state.token.is_valid(now)
        outcome = refresh(
            state, SPEC, now=now, reason=Reason.SCHEDULED, rand=rng.random, fetcher=endpoint
        )
        assert outcome.attempted
        refreshed += outcome.refreshed
        assert (outcome.error is None) == outcome.refreshed
        state = outcome.state
    assert refreshed >= 5


def test_no_attempt_when_not_time_yet() -> None:
    endpoint = Endpoint(timedelta(hours=1), T0, T0)
    state = RefreshState(token=Token("t", T0 + timedelta(hours=1), T0))
    outcome = refresh(
        state,
        SPEC,
        now=T0 + timedelta(minutes=5),
        reason=Reason.EXPIRING,
        rand=random.random,
        fetcher=endpoint,
    )
    assert not outcome.attempted and outcome.state is state and endpoint.calls == 0


def test_lookup_refreshes_an_expired_token_once() -> None:
    # Two lookups in a row under the store lock: the second sees the first one's token.
    endpoint = Endpoint(timedelta(hours=1), T0, T0)
    state = RefreshState(token=Token("old", T0 - timedelta(seconds=1), T0 - timedelta(hours=1)))
    first = refresh(
        state, SPEC, now=T0, reason=Reason.EXPIRING, rand=random.random, fetcher=endpoint
    )
    second = refresh(
        first.state, SPEC, now=T0, reason=Reason.EXPIRING, rand=random.random, fetcher=endpoint
    )
    assert first.refreshed and not second.attempted
    assert endpoint.calls == 1
    assert second.state.token is not None and second.state.token.secret == "tok-1"


def test_failure_keeps_the_token_and_reports() -> None:
    endpoint = Endpoint(timedelta(hours=1), T0, T0 + timedelta(days=1))
    current = Token("cur", T0 + timedelta(minutes=10), T0 - timedelta(minutes=50))
    outcome = refresh(
        RefreshState(token=current),
        SPEC,
        now=T0,
        reason=Reason.FORCE,
        rand=random.random,
        fetcher=endpoint,
        clock=lambda: T0 + timedelta(seconds=3),
    )
    assert outcome.attempted and not outcome.refreshed
    assert isinstance(outcome.error, TokenFetchError)
    assert outcome.state.token is current
    assert outcome.state.failures == 1
    assert outcome.state.last_attempt == T0 + timedelta(seconds=3)
    assert outcome.state.last_error == "command provider: endpoint down (HTTP 500)"


def test_first_token_rejects_an_expired_answer() -> None:
    def stale(spec: ProviderSpec, ctx: FetchContext) -> Token:
        return Token("x", ctx.now - timedelta(seconds=1), ctx.now - timedelta(hours=1))

    with pytest.raises(TokenFetchError, match="already expired"):
        first_token(SPEC, now=T0, fetcher=stale)
    good = first_token(SPEC, now=T0, fetcher=Endpoint(timedelta(hours=1), T0, T0))
    assert good.is_valid(T0)


def test_a_provider_echoing_secrets_leaves_none_in_the_state_or_the_error() -> None:
    # A hostile or echoing provider quotes the client secret (and its base64) and the current
    # token in its error; what is kept for `status` and shown has none of them.
    import base64

    client_secret = "client-s3cret-value"
    current = "tok-current-0123"
    spec = ProviderSpec.build(
        "oauth2",
        {"token-url": "https://idp.example/t", "client-id": "c"},
        {"client-secret": client_secret},
    )
    b64 = base64.b64encode(f"c:{client_secret}".encode()).decode()

    def echo(spec: ProviderSpec, ctx: FetchContext) -> Token:
        raise TokenFetchError(
            spec.provider,
            f"denied {client_secret} / {base64.b64encode(client_secret.encode()).decode()} / "
            f"Authorization: Basic {b64} / {current}\n\x1b[2Jforged line",
        )

    state = RefreshState(token=Token(current, T0 + timedelta(seconds=10), T0))
    out = refresh(state, spec, now=T0, reason=Reason.FORCE, rand=lambda: 0.5, fetcher=echo)
    assert out.error is not None and out.state.last_error is not None
    for text in (out.state.last_error, str(out.error)):
        assert client_secret not in text and current not in text and b64 not in text
        assert "\n" not in text and "\x1b" not in text
        assert text.startswith("oauth2 provider: denied")
    with pytest.raises(TokenFetchError) as info:
        first_token(spec, now=T0, fetcher=echo)
    assert client_secret not in str(info.value) and b64 not in str(info.value)
