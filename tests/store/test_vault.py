from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from store import codec, lookup
from store.dirs import Dirs
from store.errors import (
    AmbiguousCredentialError,
    KeyUnavailableError,
    NotFoundError,
    StoreFileError,
)
from store.model import Credential, Entry
from store.vault import Vault
from tests.store.reading import read_credential


def secret_of(found: Credential | None) -> str | None:
    assert found is not None
    return found.secret


def plain_secret(v: Vault, name: str, username: str | None) -> str | None:
    """A plain keyring entry's secret, found the way the backend and the agent find it."""
    doc = v.read()
    entry = lookup.find(doc.entries, name, username)
    if entry is None:
        return None
    assert isinstance(entry, Entry) and entry.plain
    return v.reveal(doc, entry).secret


def test_login_then_lookup_by_prefix(dirs: Dirs) -> None:
    v = Vault(dirs)
    assert v.login("https://h.example/api/pypi", "alice", "s3cret") is False
    got = read_credential(v, "https://h.example/api/pypi/simple/pkg/", "alice")
    assert got is not None and got.secret == "s3cret" and got.username == "alice"
    assert read_credential(v, "https://h.example/api/pypi-v2/", "alice") is None
    assert read_credential(v, "https://h.example:8443/api/pypi/", "alice") is None
    assert v.login("https://h.example/api/pypi", "alice", "new") is True
    assert secret_of(read_credential(v, "https://h.example/api/pypi/", None)) == "new"


def test_no_secret_on_disk_and_key_apart_from_data(dirs: Dirs) -> None:
    Vault(dirs).login("https://h.example/", "alice", "hunter2-very-secret")
    text = dirs.store_file.read_text()
    assert "hunter2" not in text
    assert dirs.key_file.parent != dirs.store_file.parent
    # A copy of the data dir alone opens nothing.
    other = Dirs(data=dirs.data, config=dirs.config.parent / "elsewhere", runtime=dirs.runtime)
    with pytest.raises(KeyUnavailableError, match=r"key file .* is missing"):
        read_credential(Vault(other), "https://h.example/", "alice")


def test_files_and_dirs_created_private(dirs: Dirs) -> None:
    old = os.umask(0o022)
    try:
        Vault(dirs).login("https://h.example/", "alice", "pw")
    finally:
        os.umask(old)
    for path in (dirs.data, dirs.config):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for path in (dirs.store_file, dirs.lock_file, dirs.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_ambiguous_usernames_are_an_error_naming_them(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("https://h.example/", "alice", "a")
    v.login("https://h.example/", "bob", "b")
    with pytest.raises(AmbiguousCredentialError, match=r"alice, bob|bob, alice"):
        read_credential(v, "https://h.example/simple/", None)
    assert secret_of(read_credential(v, "https://h.example/simple/", "bob")) == "b"


def test_logout_removes_exact_key_only(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("https://h.example/", "alice", "a")
    with pytest.raises(NotFoundError):
        v.logout("https://h.example/", "bob")
    v.logout("https://h.example/", "alice")
    assert read_credential(v, "https://h.example/", "alice") is None


def test_logout_on_missing_store_creates_nothing(dirs: Dirs) -> None:
    with pytest.raises(NotFoundError):
        Vault(dirs).logout("https://h.example/", "alice")
    assert not dirs.store_file.exists() and not dirs.key_file.exists()


def test_plain_entries_are_separate_from_index_entries(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("my-app", "bob", "plainpw", plain=True)
    assert plain_secret(v, "my-app", "bob") == "plainpw"
    assert plain_secret(v, "my-app", None) == "plainpw"
    assert plain_secret(v, "my-app", "carol") is None
    assert codec.decode(dirs.store_file.read_text()).entries[0].plain


def test_moved_ciphertext_fails_to_open(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("https://a.example/", "alice", "for-a")
    v.login("https://b.example/", "alice", "for-b")
    text = dirs.store_file.read_text()
    doc = codec.decode(text)
    a, b = doc.entries
    assert a.secret is not None and b.secret is not None
    swapped = text.replace(a.secret, "@@").replace(b.secret, a.secret).replace("@@", b.secret)
    dirs.store_file.write_text(swapped)
    with pytest.raises(StoreFileError, match="failed authentication"):
        read_credential(Vault(dirs), "https://a.example/", "alice")


def test_passphrase_store_derives_once(dirs: Dirs, tmp_path: Path) -> None:
    calls: list[bool] = []

    def reader(confirm: bool) -> str:
        calls.append(confirm)
        return "correct horse battery"

    env = {"IDX_AUTH_KEY_SOURCE": "passphrase"}
    v = Vault(dirs, passphrase=reader, env=env)
    v.login("https://h.example/", "alice", "pw")
    v.login("https://h2.example/", "alice", "pw2")
    assert secret_of(read_credential(v, "https://h2.example/", "alice")) == "pw2"
    assert calls == [True]  # asked (with confirmation) once; never per entry
    assert not dirs.key_file.exists()
    fresh = Vault(dirs, passphrase=lambda c: "correct horse battery", env={})
    assert secret_of(read_credential(fresh, "https://h.example/", "alice")) == "pw"
    wrong = Vault(dirs, passphrase=lambda c: "wrong", env={})
    with pytest.raises(KeyUnavailableError, match="wrong passphrase"):
        read_credential(wrong, "https://h.example/", "alice")


def test_rekey_rotates_and_switches_source(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("https://h.example/", "alice", "pw")
    v.login("svc", "u", "plainpw", plain=True)
    old_key = dirs.key_file.read_text()
    old_header = codec.decode(dirs.store_file.read_text()).header
    assert old_header is not None
    old_id = old_header.key_id
    header = v.rekey()
    assert header.key_id != old_id and dirs.key_file.read_text() != old_key
    fresh = Vault(dirs)
    assert secret_of(read_credential(fresh, "https://h.example/", "alice")) == "pw"
    assert plain_secret(fresh, "svc", "u") == "plainpw"
    to_pass = Vault(dirs, passphrase=lambda c: "pp", env={})
    to_pass.rekey("passphrase")
    assert (
        secret_of(
            read_credential(
                Vault(dirs, passphrase=lambda c: "pp", env={}), "https://h.example/", "alice"
            )
        )
        == "pw"
    )
    back = Vault(dirs, passphrase=lambda c: "pp", env={})
    back.rekey("file")
    assert secret_of(read_credential(Vault(dirs), "https://h.example/", "alice")) == "pw"


def test_rekey_cut_short_by_an_older_version_still_opens(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("https://h.example/", "alice", "pw")
    v.rekey()
    # An older version's rekey, cut short after the store was written: the new key is still
    # in key.next. Readers use it without moving files (that raced a running rekey); the
    # next rekey, under the lock, folds it away.
    next_path = dirs.key_file.with_name("key.next")
    os.rename(dirs.key_file, next_path)
    fd = os.open(dirs.key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"idx-auth-key-v1 " + b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n")
    os.close(fd)
    assert secret_of(read_credential(Vault(dirs), "https://h.example/", "alice")) == "pw"
    assert next_path.exists()
    Vault(dirs).rekey()
    assert not next_path.exists() and len(dirs.key_file.read_text().splitlines()) == 1
    assert secret_of(read_credential(Vault(dirs), "https://h.example/", "alice")) == "pw"


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: p.write_text("garbage = = ="), "not a valid store"),
        (lambda p: p.write_bytes(p.read_bytes()[:40]), "not a valid store"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00"), "not UTF-8"),
        (lambda p: p.chmod(0o644), "mode 0644"),
    ],
)
def test_damaged_store_is_refused_and_never_overwritten(
    dirs: Dirs, damage: Callable[[Path], object], needle: str
) -> None:
    v = Vault(dirs)
    v.login("https://h.example/", "alice", "pw")
    damage(dirs.store_file)
    before = dirs.store_file.read_bytes()
    with pytest.raises(StoreFileError, match=needle) as info:
        Vault(dirs).login("https://h.example/", "bob", "pw2")
    assert str(dirs.store_file) in str(info.value)
    assert dirs.store_file.read_bytes() == before


def test_wrong_key_file_is_refused(dirs: Dirs) -> None:
    Vault(dirs).login("https://h.example/", "alice", "pw")
    before = dirs.store_file.read_bytes()
    dirs.key_file.unlink()
    fd = os.open(dirs.key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"idx-auth-key-v1 QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n")
    os.close(fd)
    with pytest.raises(StoreFileError, match="cannot be decrypted with the key"):
        Vault(dirs).login("https://h.example/", "bob", "pw2")
    assert dirs.store_file.read_bytes() == before


def test_missing_key_file_is_refused(dirs: Dirs) -> None:
    Vault(dirs).login("https://h.example/", "alice", "pw")
    dirs.key_file.unlink()
    with pytest.raises(KeyUnavailableError, match="missing"):
        Vault(dirs).login("https://h.example/", "bob", "pw2")
    assert not dirs.key_file.exists()
