"""``idx-auth run``'s quick path: remembered targets, valid while the configuration stats the
same, give the same environment as the full command; anything else goes the full way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyring_idx import run_cache
from keyring_idx.cli.quick import prepare_run, run_args
from store.dirs import resolve_dirs
from tests.store.agent.agentproc import stop, wait_until_serving

IDX = str(Path(sys.executable).parent / "idx-auth")
URL = "https://pkgs.example.com/main/simple/"
SECRET = "pw-quick-run"


def idx(*argv: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDX, *argv],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def settle(path: Path) -> None:
    """Age a file past the cache's settling time, as files are that nobody just wrote."""
    old = time.time() - 10
    os.utime(path, (old, old))


@pytest.fixture
def app(isolated_home: Path, tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0"\n\n'
        f'[[tool.uv.index]]\nname = "main"\nurl = "{URL}"\ndefault = true\n'
    )
    settle(app / "pyproject.toml")
    r = idx("login", URL, "-u", "alice", "--password", "-", cwd=app, stdin=SECRET)
    assert r.returncode == 0, r.stderr
    return app


@pytest.fixture
def agent(app: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [IDX, "agent"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sock = resolve_dirs().socket
    wait_until_serving(sock, proc)
    try:
        yield str(sock)
    finally:
        stop(proc)


def child_env(app: Path, *extra: str) -> dict[str, str]:
    """The environment the full command gives its child."""
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    r = idx("run", *extra, "--", sys.executable, "-c", script, cwd=app)
    assert r.returncode == 0, r.stderr
    env: dict[str, str] = json.loads(r.stdout)
    return env


def test_run_args() -> None:
    assert run_args(["--", "uv", "sync"]) == (None, ["uv", "sync"])
    assert run_args(["--project", "d", "--", "uv"]) == ("d", ["uv"])
    assert run_args(["--project=d", "--", "uv"]) == ("d", ["uv"])
    for argv in (["uv", "sync"], ["--dry-run", "--", "uv"], ["--"], ["--project="], []):
        assert run_args(argv) is None


def test_remembered_targets_give_the_full_commands_environment(
    app: Path, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app)
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    argv = ["--", sys.executable, "-c", script]
    assert prepare_run(argv, agent, dict(os.environ)) is None  # nothing remembered yet
    full = child_env(app)
    assert full["UV_INDEX_MAIN_PASSWORD"] == SECRET
    cache = Path(agent).parent / run_cache.FILE
    assert cache.is_file() and (cache.stat().st_mode & 0o777) == 0o600
    assert SECRET not in cache.read_text()
    prepared = prepare_run(argv, agent, dict(os.environ))
    assert prepared is not None
    command, env = prepared
    assert command == [sys.executable, "-c", script]
    assert {k: v for k, v in env.items() if k.startswith("UV_INDEX_")} == {
        k: v for k, v in full.items() if k.startswith("UV_INDEX_")
    }
    # The caller's own pair is left as it is.
    own = {**os.environ, "UV_INDEX_MAIN_USERNAME": "me", "UV_INDEX_MAIN_PASSWORD": "mine"}
    prepared = prepare_run(argv, agent, own)
    assert prepared is not None and prepared[1]["UV_INDEX_MAIN_PASSWORD"] == "mine"


def test_a_changed_or_fresh_configuration_is_read_again(
    app: Path, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app)
    argv = ["--", "true"]
    child_env(app)  # remembers for `run -- <python> -c ...`, not for `run -- true`
    assert idx("run", *argv, cwd=app).returncode == 0
    assert prepare_run(argv, agent, dict(os.environ)) is not None
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"main"', '"renamed"'))
    assert prepare_run(argv, agent, dict(os.environ)) is None  # too fresh to trust
    settle(pyproject)
    assert prepare_run(argv, agent, dict(os.environ)) is None  # stats differ
    assert idx("run", *argv, cwd=app).returncode == 0
    prepared = prepare_run(argv, agent, dict(os.environ))
    assert prepared is not None and prepared[1]["UV_INDEX_RENAMED_PASSWORD"] == SECRET
    # A uv.toml appearing in a parent directory counts too.
    (app.parent / "uv.toml").write_text("")
    settle(app.parent / "uv.toml")
    assert prepare_run(argv, agent, dict(os.environ)) is None
    # Another environment is another key.
    assert idx("run", *argv, cwd=app).returncode == 0
    assert prepare_run(argv, agent, {**os.environ, "UV_INDEX_STRATEGY": "x"}) is None


def test_notes_and_misses_go_the_full_way(
    app: Path, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app)
    argv = ["--", "true"]
    with_password = "https://bob:hunter22@other.example.com/simple/"
    env = {**os.environ, "UV_INDEX": with_password}  # an unnamed index: a note to print
    r = subprocess.run(
        [IDX, "run", *argv], cwd=app, env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "has no name" in r.stderr
    assert prepare_run(argv, agent, env) is None  # never remembered: the note must show
    env = {**os.environ, "UV_INDEX": "other=" + with_password}
    r = subprocess.run(
        [IDX, "run", *argv], cwd=app, env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "no stored credential for bob" in r.stderr
    cache = Path(agent).parent / run_cache.FILE
    assert "hunter22" not in cache.read_text()
    assert prepare_run(argv, agent, env) is None  # the agent has nothing for bob


def test_a_broken_cache_file_is_a_miss(
    app: Path, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app)
    cache = Path(agent).parent / run_cache.FILE
    for junk in ("not json", "[]", '{"v": 1, "entries": [{"key": 3}]}', '{"v": 1}'):
        cache.write_text(junk)
        assert prepare_run(["--", "true"], agent, dict(os.environ)) is None
    assert idx("run", "--", "true", cwd=app).returncode == 0
    assert prepare_run(["--", "true"], agent, dict(os.environ)) is not None
    # A row naming a variable run never sets is not ours: the whole entry is ignored.
    doc = json.loads(cache.read_text())
    doc["entries"][0]["targets"][0][4] = "LD_PRELOAD"
    cache.write_text(json.dumps(doc))
    assert prepare_run(["--", "true"], agent, dict(os.environ)) is None
    assert idx("run", "--", "true", cwd=app).returncode == 0  # and is written anew
    assert json.loads(cache.read_text())["v"] == run_cache.VERSION
