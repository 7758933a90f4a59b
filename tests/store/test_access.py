"""store.access.get_credential: the one way every consumer reads a credential, over a real store
file and a real agent process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.access import get_credential
from store.dirs import resolve_dirs
from store.errors import AgentLockedError
from store.model import Ambiguous, Credential
from store.vault import Vault
from tests.store.agent.agentproc import agent_env, stop
from tests.store.agent.test_real_store import start_real

SVC = "https://idx.example/api"


def _vault(env: dict[str, str]) -> Vault:
    return Vault(resolve_dirs(env), env=env)


def test_nothing_there_is_none_without_importing_the_agent_or_the_vault(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from store.access import get_credential\n"
        f"print(get_credential({SVC + '/simple/'!r}))\n"
        "print(sorted(m for m in sys.modules if m in ('store.vault', 'store.agent.client',"
        " 'cryptography')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=agent_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["None", "[]"]


def test_the_file_answers_every_form_a_client_asks_for(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    v = _vault(env)
    v.login(SVC, "alice", "pw-alice")
    v.login("https://tok.example/", None, "tok", "bearer")
    v.login("my-app", "dave", "pw-dave", plain=True)
    found = get_credential(SVC + "/simple/pkg/", env=env)
    assert found == Credential(SVC, "alice", "basic", "pw-alice")
    assert get_credential("https://tok.example/simple/", env=env) == Credential(
        "https://tok.example/", None, "bearer", "tok"
    )
    assert get_credential("my-app", "dave", env=env) == Credential(
        "my-app", "dave", "basic", "pw-dave"
    )
    assert get_credential("https://other.example/", env=env) is None
    v.login(SVC, "bob", "pw-bob")
    assert get_credential(SVC + "/simple/", env=env) == Ambiguous(
        SVC + "/simple/", ("alice", "bob")
    )


def test_an_expired_token_is_refreshed_before_it_is_returned(tmp_path: Path) -> None:
    import shlex

    from store.refresh import entries
    from store.refresh.spec import ProviderSpec

    env = agent_env(tmp_path)
    script = "print('tok-fresh')"
    spec = ProviderSpec.build("command", {"command": shlex.join([sys.executable, "-c", script])})
    long_ago = datetime.now(UTC) - timedelta(days=2)
    v = _vault(env)
    entries.login(v, SVC, "ci", spec, now=long_ago)
    found = get_credential(SVC + "/simple/", "ci", env=env, vault=v)
    assert isinstance(found, Credential) and found.secret == "tok-fresh"


def test_the_agent_answers_first_and_the_same_way(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    v = _vault(env)
    v.login(SVC, "alice", "pw-alice")
    v.login(SVC, "bob", "pw-bob")
    v.login("h.example", "carol", "pw-carol", plain=True)
    proc, _sock = start_real(tmp_path)
    try:
        dirs = resolve_dirs(env)
        dirs.key_file.rename(dirs.key_file.with_name("away"))  # only the agent can answer now
        assert get_credential(SVC + "/simple/", "bob", env=env) == Credential(
            SVC, "bob", "basic", "pw-bob"
        )
        assert get_credential(SVC + "/simple/", env=env) == Ambiguous(
            SVC + "/simple/", ("alice", "bob")
        )
        assert get_credential("h.example", env=env) == Credential(
            "h.example", "carol", "basic", "pw-carol"
        )
    finally:
        stop(proc)


def test_a_locked_agent_is_an_error_and_the_file_is_not_read(tmp_path: Path) -> None:
    # Before the one access path, `idx-auth token` read the file (prompting for the passphrase)
    # while the keyring backend answered nothing; now both stop at the locked agent (exit 3).
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    pw.chmod(0o600)  # a passphrase file must be private
    env = agent_env(tmp_path, IDX_AUTH_KEY_SOURCE="passphrase", IDX_AUTH_PASSPHRASE_FILE=str(pw))
    _vault(env).login(SVC, "alice", "pw-alice")
    proc, _sock = start_real(tmp_path)
    try:
        with pytest.raises(AgentLockedError, match="idx-auth unlock") as info:
            get_credential(SVC, "alice", env=env)
        assert info.value.exit_code == 3
        token = subprocess.run(
            [sys.executable, "-m", "keyring_idx.cli", "token", SVC, "-u", "alice"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert token.returncode == 3 and "idx-auth unlock" in token.stderr
        assert token.stdout == ""
    finally:
        stop(proc)
