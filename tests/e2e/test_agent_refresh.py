"""Token refresh end to end: a real `idx-auth agent` process, a real OAuth 2 token endpoint and
a private index on 127.0.0.1 that accepts only unexpired tokens from that endpoint.

Tokens live a few seconds, so several lifetimes pass within a test. Nothing here asserts how
long anything took; lifetimes are long enough that a loaded machine still refreshes in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import tool
from tests.e2e.refreshkit import USER, Setup, concurrent_answers, wait_for
from tests.e2e.token_index import PROJECT, TokenIndex, token_index
from tests.store.agent.agentproc import stop
from tests.store.refresh.authority import (
    CLIENT_SECRET,
    FAIL_500,
    GARBAGE,
    HANG,
    OK,
    Authority,
    authority,
)


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[tuple[Authority, TokenIndex]]:
    lifetime = float(getattr(request, "param", 3.0))
    with authority(lifetime) as (auth, _), token_index(auth) as index:
        yield auth, index


def fetch_page(index: TokenIndex, token: str) -> int:
    response = httpx.get(f"{index.url}/simple/{PROJECT}/", auth=(USER, token), timeout=10)
    return response.status_code


def used_tokens(index: TokenIndex) -> list[str]:
    return [r for r in index.refused if not r.endswith("no credentials")]


def test_agent_keeps_a_valid_token_across_lifetimes(
    tmp_path: Path, world: tuple[Authority, TokenIndex]
) -> None:
    auth, index = world
    setup = Setup(tmp_path)
    # Log in through the CLI, the client secret on stdin.
    done = setup.idx(
        "login",
        f"{index.url}/",
        "-u",
        USER,
        "--provider",
        "oauth2",
        "--token-url",
        f"{auth.url}/token",
        "--client-id",
        "ci-bot",
        "--client-secret",
        "-",
        stdin=CLIENT_SECRET + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert CLIENT_SECRET not in done.stderr + done.stdout
    proc = setup.start_agent()
    try:
        seen: list[str] = []
        start = time.time()
        # At least three and a half lifetimes, and until the token changed four times.
        while time.time() - start < 3.5 * auth.lifetime or len(set(seen)) < 5:
            assert time.time() - start < 12 * auth.lifetime, f"only {len(set(seen))} tokens"
            token = setup.lookup(f"{index.url}/simple/{PROJECT}/")
            assert token is not None
            assert auth.is_valid(token), "the agent served a token the endpoint does not honour"
            assert fetch_page(index, token) == 200
            seen.append(token)
            time.sleep(0.05)
        assert len(set(seen)) >= 5
        assert index.refused == []
        # The agent refreshed on its own: tokens were issued while nobody logged in.
        assert auth.count() >= 5
        entry = next(e for e in setup.status()["entries"] if e["username"] == USER)
        assert entry["refresh"] == "oauth2" and entry["next_refresh"] and entry["refreshed_at"]
        assert entry["last_error"] is None
    finally:
        assert stop(proc) == 0


# The outage (three failed attempts and a look at `status`, each a process start) has to fit in
# the last quarter of the lifetime, before the current token expires: 20 s leaves about 5 s,
# enough on a loaded two-core machine. With less, a slow run sees the token expire and is
# rightly told nothing -- the agent never serves an expired token.
@pytest.mark.parametrize("world", [20.0], indirect=True)
def test_an_outage_changes_nothing_clients_see_and_refresh_recovers(
    tmp_path: Path, world: tuple[Authority, TokenIndex]
) -> None:
    auth, index = world
    setup = Setup(tmp_path)
    setup.login(f"{index.url}/", auth, timeout=0.5)
    url = f"{index.url}/simple/{PROJECT}/"
    proc = setup.start_agent()
    served: list[str] = []
    problems: list[str] = []
    running = threading.Event()
    running.set()

    def client_loop() -> None:
        # A client looking up all the time, as uv would: every answer must work at the index.
        while running.is_set():
            token = setup.lookup(url)
            if token is None or not auth.is_valid(token) or fetch_page(index, token) != 200:
                problems.append(f"lookup {len(served)}: no valid token")
            else:
                served.append(token)
            time.sleep(0.03)

    worker = threading.Thread(target=client_loop, daemon=True)
    worker.start()
    try:
        # Start the outage right after a refresh, so it spans the next refresh point.
        first = setup.lookup(url)
        wait_for(lambda: setup.lookup(url) != first, 2 * auth.lifetime, "the first refresh")
        current = setup.lookup(url)
        assert current is not None
        for mode in (FAIL_500, GARBAGE, HANG):
            auth.mode = mode
            wait_for(_failed_since(auth, auth.failed), auth.lifetime, f"an attempt meeting {mode}")
            assert setup.lookup(url) == current, f"after an attempt meeting {mode}"
        # HANG: the agent gave up on the stalled request; status tells what went wrong.
        wait_for(lambda: bool(_entry(setup)["last_error"]), auth.lifetime, "the error in `status`")
        entry = _entry(setup)
        assert "oauth2 provider" in entry["last_error"] and entry["failures"] >= 1
        assert CLIENT_SECRET not in repr(entry)
        assert setup.lookup(url) == current  # still the token from before the outage
        auth.mode = OK
        wait_for(lambda: setup.lookup(url) != current, auth.lifetime, "recovery")
        recovered = setup.lookup(url)
        assert recovered is not None and auth.is_valid(recovered)
        wait_for(lambda: _entry(setup)["last_error"] is None, auth.lifetime, "a clean status")
    finally:
        running.clear()
        worker.join(30)
        assert stop(proc) == 0
    assert problems == []
    assert current in served and recovered in served
    assert used_tokens(index) == []


def _failed_since(auth: Authority, count: int) -> Callable[[], bool]:
    return lambda: auth.failed > count


def _entry(setup: Setup) -> dict[str, Any]:
    status = setup.status()
    assert status["agent"] == "running"
    found: dict[str, Any] = next(e for e in status["entries"] if e["username"] == USER)
    return found


# Six processes start at once and take turns under the store lock; on a loaded machine the last
# may read the refreshed token seconds after it was fetched, and a token that was nearly expired
# by then would rightly be refreshed again. 8 s keeps the fresh one far from that.
@pytest.mark.parametrize("world", [8.0], indirect=True)
def test_without_agent_an_expired_token_is_refreshed_once_on_lookup(
    tmp_path: Path, world: tuple[Authority, TokenIndex]
) -> None:
    auth, index = world
    setup = Setup(tmp_path)
    setup.login(f"{index.url}/", auth)
    first = next(iter(auth.issued))
    wait_for(lambda: not auth.is_valid(first), 2 * auth.lifetime, "the token to expire")
    # Several lookups at once, no agent: they take turns under the store lock, one fetches.
    argv = [tool("idx-auth"), "token", f"{index.url}/simple/{PROJECT}/", "-u", USER]
    results = concurrent_answers(argv, setup.env, 6)
    assert len(set(results)) == 1, results
    fresh = results[0]
    assert fresh != first and auth.is_valid(fresh) and fetch_page(index, fresh) == 200
    assert auth.count() == 2  # the login's token and exactly one refresh
    status = setup.status()
    assert status["agent"] == "not running"
    entry = next(e for e in status["entries"] if e["username"] == USER)
    assert entry["refreshed_at"] and entry["next_refresh"] and entry["last_error"] is None
    text = setup.idx("status")
    assert text.returncode == 3  # no agent
    assert f"{USER}@{index.url}/ (oauth2): expires " in text.stderr and ", due " in text.stderr


@pytest.mark.parametrize("world", [2.0], indirect=True)
def test_refresh_command_goes_through_the_agent_or_runs_itself(
    tmp_path: Path, world: tuple[Authority, TokenIndex]
) -> None:
    auth, index = world
    setup = Setup(tmp_path)
    setup.login(f"{index.url}/", auth)
    done = setup.idx("refresh", f"{index.url}/", "--json")  # no agent: in this process
    assert done.returncode == 0, done.stderr
    assert auth.count() == 2
    proc = setup.start_agent()
    try:
        before = setup.lookup(f"{index.url}/simple/")
        count = auth.count()
        done = setup.idx("refresh", "--json")
        assert done.returncode == 0, done.stderr
        assert '"refreshed": true' in done.stdout
        after = setup.lookup(f"{index.url}/simple/")
        assert after != before and after in auth.issued and auth.count() > count
        auth.mode = FAIL_500
        failed = setup.idx("refresh", f"{index.url}/")
        assert failed.returncode == 2 and "HTTP 500" in failed.stderr
        assert "kept the current token" in failed.stderr
    finally:
        auth.mode = OK
        assert stop(proc) == 0
