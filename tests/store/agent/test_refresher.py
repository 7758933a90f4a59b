"""The agent's refresh thread over the real store and a real token endpoint, on a test clock.

``Refresher.step`` is driven by hand with an injected wall clock, so every schedule decision is
checked without sleeping; the token endpoint on 127.0.0.1 is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from store.agent import protocol as p
from store.agent.cached_store import CachedStore
from store.agent.core import AgentCore
from store.agent.refresher import Refresher
from store.agent.store_view import Found
from store.dirs import Dirs
from store.errors import KeyUnavailableError
from store.refresh import entries
from store.refresh.schedule import Reason
from store.vault import Vault
from tests.store.refresh.authority import (
    CLIENT_SECRET,
    FAIL_500,
    GARBAGE,
    OK,
    Authority,
    authority,
)

SVC = "https://pypi.example.com/"
KEY = ("https://pypi.example.com/", "ci")
LIFETIME = 100.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)

    def skip(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def auth() -> Iterator[Authority]:
    with authority(LIFETIME) as (server, _):
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


def login(dirs: Dirs, auth: Authority, clock: Clock, username: str = "ci") -> None:
    entries.login(Vault(dirs), SVC, username, auth.spec(), now=clock())


def agent(dirs: Dirs, clock: Clock) -> tuple[CachedStore, Refresher]:
    store = CachedStore(dirs)
    store.unlock(None)
    return store, Refresher(store, rand=lambda: 0.5, wall=clock)


def served(store: CachedStore) -> str | None:
    found = store.get(SVC + "simple/pkg/", "ci")
    return found.secret if isinstance(found, Found) else None


def test_refreshes_at_three_quarters_and_rides_out_an_outage(
    dirs: Dirs, auth: Authority, clock: Clock
) -> None:
    login(dirs, auth, clock)
    store, refresher = agent(dirs, clock)
    first = served(store)
    wake = refresher.step()
    assert wake == clock() + timedelta(seconds=75)  # rand 0.5: no jitter
    assert auth.count() == 1

    clock.to(wake)
    wake = refresher.step()
    second = served(store)
    assert auth.count() == 2 and second != first and second in auth.issued
    assert wake is not None and wake > clock() + timedelta(seconds=70)

    # The endpoint fails in several ways: the current token keeps being served, errors show.
    clock.to(wake)
    for mode in (FAIL_500, GARBAGE, FAIL_500):
        auth.mode = mode
        retry = refresher.step()
        assert served(store) == second
        state = refresher.known(KEY)
        assert state is not None and state.failures >= 1 and state.last_error
        assert retry is not None and clock() < retry <= clock() + timedelta(seconds=100 / 16)
        clock.to(retry)
    info = next(e for e in store.entries() if e.username == "ci")
    assert info.failures == 3 and info.last_error and "oauth2 provider" in info.last_error
    assert "HTTP 500" in info.last_error
    assert CLIENT_SECRET not in info.last_error

    auth.mode = OK
    refresher.step()
    third = served(store)
    assert third not in (first, second) and auth.count() == 3
    state = refresher.known(KEY)
    assert state is not None and state.failures == 0 and state.last_error is None
    info = next(e for e in store.entries() if e.username == "ci")
    assert info.failures == 0 and info.last_error is None


def test_entries_added_and_removed_by_other_processes_are_picked_up(
    dirs: Dirs, auth: Authority, clock: Clock
) -> None:
    Vault(dirs).login("https://other.example/", "u", "static password")
    _, refresher = agent(dirs, clock)
    assert refresher.step() is None and refresher.states() == {}
    login(dirs, auth, clock)
    assert refresher.step() is not None and set(refresher.states()) == {KEY}
    Vault(dirs).logout(SVC, "ci")
    assert refresher.step() is None and refresher.states() == {}


def test_a_refresh_by_another_process_replaces_the_plan(
    dirs: Dirs, auth: Authority, clock: Clock
) -> None:
    login(dirs, auth, clock)
    _, refresher = agent(dirs, clock)
    planned = refresher.step()
    assert planned is not None
    clock.skip(30)
    entries.refresh_entries(Vault(dirs), now=clock(), reason=Reason.FORCE)  # `idx-auth refresh`
    assert auth.count() == 2
    replanned = refresher.step()
    assert replanned == clock() + timedelta(seconds=75)
    clock.to(planned)
    refresher.step()  # the old plan is gone: nothing is fetched at its time
    assert auth.count() == 2


def test_a_locked_store_is_not_refreshed_until_unlocked(
    dirs: Dirs, auth: Authority, clock: Clock
) -> None:
    login(dirs, auth, clock)
    store, refresher = agent(dirs, clock)
    wake = refresher.step()
    assert wake is not None
    store.lock()
    clock.to(wake + timedelta(seconds=1))
    assert refresher.step() is None and auth.count() == 1
    with pytest.raises(KeyUnavailableError, match="locked"):
        refresher.refresh_now(None, None)
    store.unlock(None)
    refresher.step()
    assert auth.count() == 2


def test_refresh_request_forces_one_entry_or_all(dirs: Dirs, auth: Authority, clock: Clock) -> None:
    login(dirs, auth, clock)
    login(dirs, auth, clock, username="other")
    store = CachedStore(dirs)
    refresher = Refresher(store, rand=lambda: 0.5, wall=clock)
    core = AgentCore(store, refresher=refresher)
    core.start(0.0)
    assert core.try_fast(p.Refresh(), 0.0) is None  # never on the event loop
    reply = core.handle(p.Refresh("https://pypi.example.com/simple/", "ci"), 0.0)
    assert reply.ok and [r["username"] for r in reply.data["results"]] == ["ci"]
    assert reply.data["results"][0]["refreshed"] is True and auth.count() == 3
    assert all(r["error"] is None for r in reply.data["results"])
    reply = core.handle(p.Refresh(), 0.0)
    assert reply.ok and len(reply.data["results"]) == 2 and auth.count() == 5
    assert core.handle(p.Refresh("https://nowhere.example/"), 0.0).data["results"] == []
    assert core.handle(p.Refresh("not a url"), 0.0).status == p.INVALID
    # status: expiry, last refresh and the plan for each entry; no secret anywhere.
    status = core.handle(p.Status(), 0.0).data
    listed = {e["username"]: e for e in status["entries"]}
    assert listed["ci"]["refresh"] == "oauth2" and listed["ci"]["expires_at"]
    assert listed["ci"]["refreshed_at"] and listed["ci"]["next_refresh"]
    assert listed["ci"]["last_error"] is None and status["refreshing"] is True
    assert not any(token in repr(status) for token in auth.issued)
    core.handle(p.Lock(), 0.0)
    assert core.handle(p.Refresh(), 0.0).status == p.LOCKED


def test_a_lookup_never_gets_an_expired_token(dirs: Dirs, auth: Authority, clock: Clock) -> None:
    login(dirs, auth, clock)
    store, refresher = agent(dirs, clock)
    core = AgentCore(store, refresher=refresher)
    core.start(0.0)
    get = p.Get(SVC + "simple/pkg/", "ci")
    first = core.try_fast(get, 0.0)
    assert first is not None and first.ok  # valid: answered on the loop
    refresher.step()

    # The agent slept through the refresh point (suspend): the token expired meanwhile.
    clock.skip(LIFETIME + 5)
    assert core.try_fast(get, 0.0) is None  # must refresh first: off the loop
    fresh = core.handle(get, 0.0)
    assert fresh.ok and fresh.data["secret"] != first.data["secret"] and auth.count() == 2

    # Expired while the endpoint is down: nothing, rather than a token the index refuses.
    clock.skip(LIFETIME + 5)
    auth.mode = FAIL_500
    assert core.handle(get, 0.0).status == p.NOT_FOUND
    failures = auth.failed
    # A retry is pending: lookups answer nothing at once instead of hammering the endpoint.
    assert core.try_fast(get, 0.0) is not None
    assert core.handle(get, 0.0).status == p.NOT_FOUND and auth.failed == failures
    auth.mode = OK
    state = refresher.known(KEY)
    assert state is not None and state.next_attempt is not None
    clock.to(state.next_attempt)
    assert core.handle(get, 0.0).ok and auth.count() == 3
