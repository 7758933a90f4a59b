"""StoreSource over a real store file and a real agent process, and the cheap paths when
neither exists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from keyring_idx.resolver.store_source import StoreSource
from store.dirs import Dirs, resolve_dirs
from store.errors import StoreFileError
from store.vault import Vault
from tests.store.agent.agentproc import agent_env, stop
from tests.store.agent.test_real_store import start_real

SVC = "https://idx.example/simple"


def test_nothing_stored_and_no_agent_is_none_without_loading_the_vault(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    code = (
        "import sys\n"
        "from keyring_idx.resolver.store_source import StoreSource\n"
        "s = StoreSource()\n"
        f"print(s.lookup({SVC + '/foo/'!r}, None), s.problem)\n"
        "print(sorted(m for m in sys.modules if m in ('store.vault', 'store.agent.client',"
        " 'cryptography')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["None None", "[]"]


def test_store_file_without_agent(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    Vault(resolve_dirs(env), env=env).login(SVC, "alice", "pw-alice")
    source = StoreSource(env)
    assert source.lookup(SVC + "/foo/", None) == ("alice", "pw-alice")
    assert source.lookup("https://other.example/simple/foo/", None) is None
    assert source.problem is None


def _no_file_reads() -> Vault:
    raise AssertionError("the agent runs: the store file must not be opened")


def test_running_agent_answers(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    Vault(resolve_dirs(env), env=env).login(SVC, "alice", "pw-alice")
    proc, _sock = start_real(tmp_path)
    try:
        source = StoreSource(env, opener=_no_file_reads)
        assert source.lookup(SVC + "/foo/", "alice") == ("alice", "pw-alice")
        assert source.lookup("https://other.example/simple/foo/", None) is None
        assert source.problem is None
    finally:
        stop(proc)


def test_without_an_agent_an_expired_token_is_refreshed_before_use(dirs: Dirs) -> None:
    # The resolver reads the store like the keyring backend does: a token past its lifetime is
    # renewed through its provider first, never sent stale.
    import shlex
    import sys
    from datetime import UTC, datetime, timedelta

    from store.refresh import entries
    from store.refresh.spec import ProviderSpec
    from store.vault import Vault

    counter = dirs.data.parent / "minted"
    script = (
        "import pathlib,sys; p=pathlib.Path(sys.argv[1]); "
        "n=int(p.read_text() or 0)+1 if p.exists() else 1; p.write_text(str(n)); print(f'tok-{n}')"
    )
    command = shlex.join([sys.executable, "-c", script, str(counter)])
    spec = ProviderSpec.build("command", {"command": command, "ttl": "60"})
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    entries.login(Vault(dirs), "https://h.example/", "ci", spec, now=long_ago)
    source = StoreSource(dict(os.environ), use_agent=False)
    assert source.lookup("https://h.example/simple/pkg/", "ci") == ("ci", "tok-2")
    assert source.lookup("https://h.example/simple/pkg/", "ci") == ("ci", "tok-2")  # still valid


def test_bearer_tokens_come_back_without_a_username_and_failures_are_kept(dirs: Dirs) -> None:
    vault = Vault(dirs)
    vault.login("https://h.example/", "u", "p")
    vault.login("https://tok.example/", None, "t", "bearer")
    source = StoreSource(dict(os.environ), opener=lambda: vault, use_agent=False)
    assert source.lookup("https://h.example/simple/x/", None) == ("u", "p")
    assert source.lookup("https://tok.example/simple/x/", None) == (None, "t")
    assert source.lookup("https://other.example/", None) is None

    def broken() -> Vault:
        raise StoreFileError("cannot decrypt")

    failing = StoreSource(dict(os.environ), opener=broken, use_agent=False)
    assert failing.lookup("https://h.example/", None) is None
    assert failing.problem is not None and "cannot decrypt" in failing.problem


def test_an_ambiguous_lookup_finds_nothing_and_says_why(dirs: Dirs) -> None:
    vault = Vault(dirs)
    vault.login("https://h.example/", "alice", "a")
    vault.login("https://h.example/", "bob", "b")
    source = StoreSource(dict(os.environ), use_agent=False)
    assert source.lookup("https://h.example/simple/x/", None) is None
    assert source.problem is not None and "alice, bob" in source.problem
    assert source.lookup("https://h.example/simple/x/", "bob") == ("bob", "b")


def test_plain_names_and_host_forms_answer_as_in_the_keyring_backend(dirs: Dirs) -> None:
    # The resolver once matched index URLs only; one access path now answers the same for all.
    vault = Vault(dirs)
    vault.login("https://h.example/", "carol", "c")
    vault.login("my-app", "dave", "d", plain=True)
    source = StoreSource(dict(os.environ), use_agent=False)
    assert source.lookup("h.example", None) == ("carol", "c")
    assert source.lookup("my-app", None) == ("dave", "d")
