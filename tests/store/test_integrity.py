"""Every stored field is authenticated (format 2), and format-1 stores migrate on their next
write. An edit without the key is refused like a tampered ciphertext: nothing in the file is
used, nothing runs and nothing is sent."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w

from keyring_idx.backend import IdxKeyring
from store import codec, crypto
from store.dirs import Dirs, resolve_dirs
from store.errors import StoreFileError
from store.model import LEGACY_FORMAT, Credential, Document, Header
from store.sealing import IntegrityError, Sealer
from store.vault import Vault
from tests.keyring_idx.cli import conftest as cli_conftest
from tests.keyring_idx.cli.conftest import Cli
from tests.store.agent.agentproc import agent_env, stop, wait_until_serving
from tests.store.reading import read_credential


def secret_of(answer: object) -> str | None:
    """The secret of an agent's answer, None for anything but a credential."""
    return answer.secret if isinstance(answer, Credential) else None


SVC = "https://h.example/api"
cli = cli_conftest.cli  # the in-process idx-auth runner, as a fixture here too


def marker_command(marker: Path, token: str = "tok") -> str:
    script = f"open({str(marker)!r}, 'w').close(); print({token!r})"
    return shlex.join([sys.executable, "-c", script])


def store_with_refresh(dirs: Dirs, tmp_path: Path, *, expires_in: float = 3600) -> Path:
    """A store holding a command-refreshed token and a plain password; the command would
    leave ``harmless`` behind."""
    v = Vault(dirs)
    v.login(SVC, "alice", "pw-alice")
    v.login(
        "https://t.example/",
        "aws",
        "tok-old",
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        refresh={
            "provider": "command",
            "command": marker_command(tmp_path / "harmless"),
            "token-url": "https://auth.example/token",
            "secret-client": "client-secret-value",
        },
    )
    return tmp_path / "planted"


def edit(dirs: Dirs, change: Callable[[dict[str, object]], None]) -> None:
    """Change the store file the way anyone who can write the data dir could: as TOML, with
    no key. The file keeps its mode."""
    data = tomllib.loads(dirs.store_file.read_text())
    change(data)
    dirs.store_file.write_text(tomli_w.dumps(data))


def refresh_table(data: dict[str, object]) -> dict[str, str]:
    creds = data["credential"]
    assert isinstance(creds, list)
    table = creds[1]["refresh"]
    assert isinstance(table, dict)
    return table


def plant_command(marker: Path) -> Callable[[dict[str, object]], None]:
    def change(data: dict[str, object]) -> None:
        refresh_table(data)["command"] = marker_command(marker, "attacker-token")

    return change


def _set(path: tuple[object, ...], value: object) -> Callable[[dict[str, object]], None]:
    def change(data: dict[str, object]) -> None:
        node: object = data
        for step in path[:-1]:
            node = node[step]  # type: ignore[index]
        node[path[-1]] = value  # type: ignore[index]

    return change


def _drop_second(data: dict[str, object]) -> None:
    creds = data["credential"]
    assert isinstance(creds, list)
    del creds[1]


def _swap(data: dict[str, object]) -> None:
    creds = data["credential"]
    assert isinstance(creds, list)
    creds.reverse()


EDITS: dict[str, Callable[[dict[str, object]], None]] = {
    "token-url": _set(("credential", 1, "refresh", "token-url"), "https://evil.example/token"),
    "provider": _set(("credential", 1, "refresh", "provider"), "oauth2"),
    "refresh state": _set(("credential", 1, "refresh", "failures"), "0"),
    "expires-at": _set(("credential", 1, "expires-at"), datetime(2099, 1, 1, tzinfo=UTC)),
    "username": _set(("credential", 0, "username"), "mallory"),
    "service": _set(("credential", 0, "service"), "https://evil.example/api"),
    "key-source": _set(("idx-auth", "key-source"), "passphrase"),
    "generation": _set(("idx-auth", "generation"), 99),
    "entry removed": _drop_second,
    "entries reordered": _swap,
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_any_field_edited_without_the_key_is_refused(dirs: Dirs, tmp_path: Path, name: str) -> None:
    store_with_refresh(dirs, tmp_path)
    edit(dirs, EDITS[name])
    before = dirs.store_file.read_bytes()
    with pytest.raises(StoreFileError, match=r"failed authentication|not a valid store"):
        read_credential(Vault(dirs), SVC + "/simple/", "alice")
    with pytest.raises(StoreFileError):
        Vault(dirs).login("https://other.example/", "u", "x")
    assert dirs.store_file.read_bytes() == before  # never overwritten


def test_a_planted_command_never_runs_from_the_cli(dirs: Dirs, tmp_path: Path, cli: Cli) -> None:
    planted = store_with_refresh(dirs, tmp_path, expires_in=-60)  # due: a lookup refreshes
    edit(dirs, plant_command(planted))
    code, out, err = cli("token", "https://t.example/", "-u", "aws")
    assert (code, out) == (2, "")
    assert "failed authentication" in err and "aws@https://t.example/" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, _ = cli("refresh")
    assert code == 2
    assert not planted.exists()


def test_a_planted_command_never_runs_from_the_keyring_backend(
    dirs: Dirs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planted = store_with_refresh(dirs, tmp_path, expires_in=-60)
    edit(dirs, plant_command(planted))
    monkeypatch.setattr("keyring_idx.backend._warned_store", False)  # it warns once a process
    ring = IdxKeyring()  # type: ignore[no-untyped-call]
    assert ring.get_password("https://t.example/simple/", "aws") is None
    err = capsys.readouterr().err
    assert "failed authentication" in err and len(err.strip().splitlines()) <= 1
    assert not planted.exists()


def test_the_agent_refuses_a_store_with_a_planted_command(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    dirs = resolve_dirs(env)
    planted = store_with_refresh(dirs, tmp_path, expires_in=3600)
    sock = Path(env["IDX_AUTH_RUNTIME_DIR"]) / "agent.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyring_idx.cli", "agent"], env=env, stderr=subprocess.PIPE
    )
    try:
        wait_until_serving(sock, proc)
        from store.agent import client

        assert secret_of(client.get(SVC + "/simple/", "alice", path=str(sock))) == "pw-alice"

        # The edit also makes the token due, so an agent that trusted the file would run the
        # command at once.
        def plant(data: dict[str, object]) -> None:
            plant_command(planted)(data)
            _set(("credential", 1, "expires-at"), datetime.now(UTC) - timedelta(minutes=1))(data)

        edit(dirs, plant)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not planted.exists():
            time.sleep(0.1)
        assert not planted.exists()
        assert client.get("https://t.example/simple/", "aws", path=str(sock)) is None
        assert client.get(SVC + "/simple/", "alice", path=str(sock)) is None
        assert proc.poll() is None  # refused, not crashed
    finally:
        stop(proc)
    assert not planted.exists()


def test_sealer_names_the_edited_entry() -> None:
    sealer = Sealer(Header("k", "file", "enc:v1:x"), crypto.new_key())
    entry = sealer.entry("https://a.example/", "u", "basic", "pw")
    doc = sealer.seal_document(Document(sealer.header, (entry,)), 1, "s")
    sealer.verify(doc)
    assert doc.header is not None
    edited = replace(doc, entries=(replace(doc.entries[0], username="v"),))
    with pytest.raises(IntegrityError, match=r"v@https://a.example/ \(number 1\)"):
        sealer.verify(edited)
    with pytest.raises(IntegrityError, match="header or the list of entries"):
        sealer.verify(replace(doc, header=replace(doc.header, generation=2)))


# --- migration from format 1 ------------------------------------------------------------------


def write_format_1(dirs: Dirs) -> bytes:
    """A store as the previous release wrote it: secrets sealed, nothing else authenticated."""
    v = Vault(dirs)
    v.login(SVC, "alice", "pw-alice")
    v.login("my app", "bob", "pw-bob", plain=True)
    data = tomllib.loads(dirs.store_file.read_text())
    head = data["idx-auth"]
    head["format"] = LEGACY_FORMAT
    for key in ("store-id", "generation", "mac"):
        del head[key]
    for item in (*data["credential"], *head["plain"]):
        del item["mac"]
    for record in dirs.config.glob("generation-*"):
        record.unlink()  # that release kept none
    text = tomli_w.dumps(data).encode()
    dirs.store_file.write_bytes(text)
    return text


def test_a_format_1_store_is_read_and_migrated_on_the_next_write(dirs: Dirs) -> None:
    legacy = write_format_1(dirs)
    v = Vault(dirs)
    assert v.read().header.format == LEGACY_FORMAT  # type: ignore[union-attr]
    got = read_credential(v, SVC + "/simple/", "alice")
    assert got is not None and got.secret == "pw-alice"
    assert dirs.store_file.read_bytes() == legacy  # reading alone writes nothing
    v.login("https://new.example/", "carol", "pw-carol")
    doc = codec.decode(dirs.store_file.read_text())
    assert doc.header is not None and doc.header.format == 2 and doc.header.generation == 1
    assert all(e.mac for e in doc.entries) and doc.header.mac
    fresh = Vault(dirs)
    for url, user, secret in (
        (SVC, "alice", "pw-alice"),
        ("https://new.example/", "carol", "pw-carol"),
    ):
        found = read_credential(fresh, url, user)
        assert found is not None and found.secret == secret
    plain = fresh.read().find("my app", "bob", plain=True)
    assert plain is not None and fresh.reveal(fresh.read(), plain).secret == "pw-bob"
    # From now on a format-1 file in its place is a downgrade, refused.
    dirs.store_file.write_bytes(legacy)
    with pytest.raises(StoreFileError, match="older format"):
        read_credential(Vault(dirs), SVC, "alice")


def test_a_format_1_passphrase_store_migrates_without_asking_again(dirs: Dirs) -> None:
    asked: list[bool] = []

    def passphrase(confirm: bool) -> str:
        asked.append(confirm)
        return "correct horse"

    v = Vault(dirs, passphrase=passphrase, env={"IDX_AUTH_KEY_SOURCE": "passphrase"})
    v.login(SVC, "alice", "pw-alice")
    data = tomllib.loads(dirs.store_file.read_text())
    data["idx-auth"]["format"] = LEGACY_FORMAT
    for key in ("store-id", "generation", "mac"):
        del data["idx-auth"][key]
    del data["credential"][0]["mac"]
    dirs.store_file.write_text(tomli_w.dumps(data))
    for record in dirs.config.glob("generation-*"):
        record.unlink()
    asked.clear()
    migrating = Vault(dirs, passphrase=passphrase, env={})
    migrating.login("https://new.example/", "carol", "pw-carol")
    assert asked == [False]  # once, to unwrap; the wrapped key is kept as it was
    assert codec.decode(dirs.store_file.read_text()).header.format == 2  # type: ignore[union-attr]
    found = read_credential(Vault(dirs, passphrase=passphrase, env={}), SVC, "alice")
    assert found is not None and found.secret == "pw-alice"


def test_header_less_entries_are_refused(dirs: Dirs) -> None:
    # Without a header nothing could be authenticated; idx-auth never writes such a file.
    dirs.data.mkdir(mode=0o700, parents=True)
    dirs.store_file.write_text(
        '[[credential]]\nservice = "https://h.example/"\nusername = "u"\n'
        '[credential.refresh]\nprovider = "command"\ncommand = "touch /tmp/x"\n'
    )
    dirs.store_file.chmod(0o600)
    with pytest.raises(StoreFileError, match="without the \\[idx-auth\\] header"):
        Vault(dirs).read()
