"""uv keeps resolving a private package across token lifetimes, through `keyring` and our
backend, with the agent refreshing; without an agent, `keyring` refreshes an expired token.

uv runs `keyring` from PATH (our venv first) with ``--keyring-provider subprocess`` and the
username in the index URL; ``keyringrc.cfg`` in the test's XDG_CONFIG_HOME selects our backend.
``--no-cache`` makes uv ask the index (and so the keyring) on every run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import run, tool
from tests.e2e.refreshkit import USER, Setup, concurrent_answers, wait_for
from tests.e2e.token_index import PROJECT, VERSION, TokenIndex, token_index
from tests.store.agent.agentproc import stop
from tests.store.refresh.authority import Authority, authority

BACKEND = "keyring_idx.backend.IdxKeyring"


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[tuple[Authority, TokenIndex]]:
    with authority(float(getattr(request, "param", 4.0))) as (auth, _), token_index(auth) as index:
        yield auth, index


def keyring_setup(tmp_path: Path) -> Setup:
    setup = Setup(
        tmp_path,
        PYTHON_KEYRING_BACKEND=BACKEND,
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
    )
    rc = Path(setup.env["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    # keyring's config sits in the config dir idx-auth uses too, which must stay private.
    rc.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    rc.parent.mkdir(exist_ok=True)
    rc.write_text(f"[backend]\ndefault-keyring = {BACKEND}\n")
    return setup


def uv_compile(setup: Setup, index: TokenIndex) -> str:
    host = index.url.removeprefix("http://")
    done = run(
        [
            tool("uv"),
            "pip",
            "compile",
            "-",
            "--index-url",
            f"http://{USER}@{host}/simple/",
            "--keyring-provider",
            "subprocess",
            "--no-cache",
            "--no-header",
            "--python",
            sys.executable,
        ],
        stdin=f"{PROJECT}\n",
        env=setup.env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_uv_resolves_across_token_lifetimes_with_the_agent_refreshing(
    tmp_path: Path, world: tuple[Authority, TokenIndex]
) -> None:
    auth, index = world
    setup = keyring_setup(tmp_path)
    setup.login(f"{index.url}/", auth)
    proc = setup.start_agent()
    try:
        start = time.time()
        runs = 0
        while time.time() - start < 3.5 * auth.lifetime or auth.count() < 4:
            assert time.time() - start < 15 * auth.lifetime, "the agent stopped refreshing"
            assert f"{PROJECT}=={VERSION}" in uv_compile(setup, index)
            runs += 1
        # uv first asks without credentials (a 401 it answers through keyring); never did it
        # present an expired or unknown token.
        assert [r for r in index.refused if not r.endswith("no credentials")] == []
        assert auth.count() >= 4 and runs >= 3
    finally:
        assert stop(proc) == 0


@pytest.mark.parametrize("world", [2.0], indirect=True)
def test_keyring_without_agent_refreshes_an_expired_token(
    tmp_path: Path, world: tuple[Authority, TokenIndex]
) -> None:
    auth, index = world
    setup = keyring_setup(tmp_path)
    setup.login(f"{index.url}/", auth)
    first = next(iter(auth.issued))
    wait_for(lambda: not auth.is_valid(first), 10, "the token to expire")
    # Several `keyring get` at once: they take turns under the store lock; one fetches.
    argv = [tool("keyring"), "get", f"{index.url}/simple/{PROJECT}/", USER]
    answers = concurrent_answers(argv, setup.env, 4)
    assert len(set(answers)) == 1, answers
    fresh = answers[0]
    assert fresh != first and auth.is_valid(fresh) and auth.count() == 2
    # And uv, also without an agent, resolves with it.
    assert f"{PROJECT}=={VERSION}" in uv_compile(setup, index)
