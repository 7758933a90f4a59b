"""Bad files and parameters fail fast and cleanly: one line naming the problem, exit 2, never
a traceback, a hang or a MemoryError."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyring_idx.backend import IdxKeyring
from store import codec, crypto
from store.dirs import Dirs, resolve_dirs
from store.errors import InvalidInputError, StoreFileError
from store.model import KdfParams
from store.vault import Vault
from tests.keyring_idx.cli import conftest as cli_conftest
from tests.keyring_idx.cli.conftest import Cli
from tests.store.agent.agentproc import ROOT, agent_env, stop, wait_until_serving

cli = cli_conftest.cli

DEEP = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
SALT = "c2FsdHNhbHRzYWx0c2FsdA=="


def passphrase_header(memory: int, iterations: int, lanes: int, salt: str = SALT) -> str:
    return (
        '[idx-auth]\nformat = 2\nkey-id = "k"\nkey-source = "passphrase"\n'
        'wrapped-key = "enc:v1:AAAA"\nstore-id = "s"\ngeneration = 1\nmac = "m"\n'
        f'[idx-auth.kdf]\nsalt = "{salt}"\nmemory-kib = {memory}\n'
        f"iterations = {iterations}\nlanes = {lanes}\n"
    )


def put_store(dirs: Dirs, text: str | bytes) -> None:
    dirs.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(dirs.store_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode() if isinstance(text, str) else text)
    os.close(fd)


def test_nesting_100000_deep_is_a_clean_error() -> None:
    with pytest.raises(codec.CodecError, match="nested too deeply"):
        codec.decode(DEEP)
    with pytest.raises(codec.CodecError, match="nested too deeply"):
        codec.decode("x = " + "{a = " * 50_000 + "1" + "}" * 50_000)


@pytest.mark.parametrize(
    ("memory", "iterations", "lanes", "salt", "needle"),
    [
        (2**40, 3, 4, SALT, "memory-kib"),
        (65536, 10**9, 4, SALT, "iterations"),
        (65536, 3, 10**6, SALT, "lanes"),
        (65536, 3, 4, "c2FsdA==", "salt is 4 bytes"),
        (65536, 3, 4, "***", "not base64"),
        (8, 1, 4, SALT, "8 per lane"),
        (2**70, 3, 4, SALT, "positive integer"),
    ],
)
def test_absurd_kdf_parameters_are_refused_before_any_work(
    memory: int, iterations: int, lanes: int, salt: str, needle: str
) -> None:
    with pytest.raises(codec.CodecError, match=needle):
        codec.decode(passphrase_header(memory, iterations, lanes, salt))
    params = KdfParams(salt, memory if memory < 2**63 else 1, iterations, lanes)
    if crypto.kdf_problem(params) is not None:
        with pytest.raises(crypto.CryptoError):
            crypto.derive_key("x", params)


def test_a_hostile_kdf_header_neither_hangs_nor_exhausts_memory(dirs: Dirs, tmp_path: Path) -> None:
    put_store(dirs, passphrase_header(2**40, 10**9, 4))
    pw = tmp_path / "pw"
    pw.write_text("anything\n")
    pw.chmod(0o600)
    env = dict(os.environ, IDX_AUTH_PASSPHRASE_FILE=str(pw), PYTHONPATH=str(ROOT))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "keyring_idx.cli", "token", "https://h.example/"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "memory-kib" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 30  # not minutes of Argon2 (no timing asserted finer)


def test_a_deeply_nested_store_is_one_line_from_cli_backend_and_agent(
    dirs: Dirs,
    cli: Cli,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put_store(dirs, DEEP)
    code, out, err = cli("list")
    assert (code, out) == (2, "") and "nested too deeply" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setattr("keyring_idx.backend._warned_store", False)  # it warns once a process
    ring = IdxKeyring()  # type: ignore[no-untyped-call]
    assert ring.get_password("https://h.example/simple/", "u") is None
    assert "nested too deeply" in capsys.readouterr().err
    from store.agent.cached_store import CachedStore

    with pytest.raises(StoreFileError, match="nested too deeply"):
        CachedStore(dirs).unlock(None)  # the agent starts locked instead of crashing


def test_a_store_larger_than_we_read_is_refused_unread(dirs: Dirs) -> None:
    put_store(dirs, b"")
    os.truncate(dirs.store_file, 65 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(StoreFileError, match="more than idx-auth reads"):
        Vault(dirs).read()


def test_out_of_range_dates_and_generations_are_refused() -> None:
    with pytest.raises(codec.CodecError, match="out of range"):
        codec.decode(
            '[idx-auth]\nformat = 1\nkey-id = "k"\nkey-source = "file"\nwrapped-key = "w"\n'
            '[[credential]]\nservice = "https://h/"\nusername = "u"\n'
            "expires-at = 0001-01-01T00:00:00+23:59\n"
        )
    with pytest.raises(codec.CodecError, match="generation"):
        codec.decode(passphrase_header(65536, 3, 4).replace("generation = 1", "generation = -1"))


def test_non_utf8_username_or_secret_is_one_line_exit_2(dirs: Dirs, cli: Cli) -> None:
    bad = b"al\xffice".decode("utf-8", "surrogateescape")
    code, _, err = cli("login", "https://h.example/", "-u", bad, "--password", "-", stdin="pw\n")
    assert code == 2 and "not valid UTF-8" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(
        "login", "https://h.example/", "-u", "alice", "--password", "-", stdin=f"p{bad}\n"
    )
    assert code == 2 and "password is not valid UTF-8" in err
    code, _, err = cli("token", "https://h.example/", "-u", bad)
    assert code == 2 and "not valid UTF-8" in err
    assert not dirs.store_file.exists()
    # The store itself refuses such text too, whoever calls it (keyring set, the agent).
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        Vault(dirs).login("https://h.example/", bad, "pw")
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        Vault(dirs).login("https://h.example/", "alice", f"p{bad}")


LOGIN = (sys.executable, "-m", "keyring_idx.cli", "login", "https://h.example/")


def test_non_utf8_bytes_from_a_real_terminal_pipe(dirs: Dirs) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LC_ALL="C")
    done = subprocess.run(
        [*LOGIN, "-u", "alice", "--password", "-"],
        input=b"pw\xff\n",
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = subprocess.run(
        [*LOGIN, "-u", os.fsdecode(b"al\xffice"), "--password", "-"],
        input=b"pw\n",
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2 and b"Traceback" not in done.stderr


def test_the_agent_starts_locked_on_a_deeply_nested_store(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    dirs = resolve_dirs(env)
    put_store(dirs, DEEP)
    sock = Path(env["IDX_AUTH_RUNTIME_DIR"]) / "agent.sock"
    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "keyring_idx.cli", "agent"], env=env, stderr=log_file
        )
        try:
            wait_until_serving(sock, proc)  # it serves (locked) instead of dying
            assert proc.poll() is None
        finally:
            stop(proc)
    log = log_path.read_text()
    assert "nested too deeply" in log and "Traceback" not in log
