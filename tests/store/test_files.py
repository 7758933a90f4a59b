"""One rule for every directory and file of ours: owned by us, no group or other access, no
symlink we did not make. Each breach is refused with the path and the fix; doctor says the
same ahead of time."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyring_idx.doctor import gather, local_checks
from keyring_idx.doctor.model import Check
from store.dirs import Dirs
from store.errors import KeyUnavailableError, StoreFileError
from store.keys import passphrase_reader
from store.vault import Vault
from tests.store.reading import read_credential

SVC = "https://h.example/"
NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def doctor_files() -> Check:
    return local_checks.check_files(gather.file_facts(os.environ))


@pytest.fixture
def stored(dirs: Dirs) -> Dirs:
    Vault(dirs).login(SVC, "alice", "pw")
    assert doctor_files().verdict == "ok"
    return dirs


@pytest.mark.parametrize("which", ["data", "config"])
def test_a_directory_open_to_others_is_refused_and_doctor_says_so(stored: Dirs, which: str) -> None:
    path = stored.data if which == "data" else stored.config
    path.chmod(0o777)
    with pytest.raises(StoreFileError, match=rf"{which} directory .* mode 0777.*chmod 700"):
        read_credential(Vault(stored), SVC, "alice")
    with pytest.raises(StoreFileError, match="chmod 700"):
        Vault(stored).login(SVC, "bob", "x")
    check = doctor_files()
    assert check.verdict == "fail" and str(path) in check.detail and "chmod 700" in check.detail


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_umask_000_creates_no_open_parents(dirs: Dirs, open_umask: None) -> None:
    deep = Dirs(
        data=dirs.data / "a" / "b" / "data",
        config=dirs.config / "c" / "config",
        runtime=dirs.runtime,
    )
    Vault(deep).login(SVC, "alice", "pw")
    for path in (dirs.data, dirs.data / "a", dirs.data / "a" / "b", deep.data, deep.config):
        assert mode(path) == 0o700, path
    for path in (deep.store_file, deep.lock_file, deep.key_file):
        assert mode(path) == 0o600, path


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(
    stored: Dirs, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    stored.lock_file.unlink()
    stored.lock_file.symlink_to(target)
    with pytest.raises(StoreFileError, match=r"lock file .* is a symlink"):
        Vault(stored).login(SVC, "bob", "x")
    assert not target.exists()  # O_CREAT did not follow the link
    assert doctor_files().verdict == "fail"


def test_a_symlinked_key_file_is_refused(stored: Dirs, tmp_path: Path) -> None:
    real = tmp_path / "real-key"
    os.rename(stored.key_file, real)
    stored.key_file.symlink_to(real)
    with pytest.raises(StoreFileError, match=r"key file .* is a symlink"):
        read_credential(Vault(stored), SVC, "alice")


def test_a_symlinked_store_is_refused(stored: Dirs, tmp_path: Path) -> None:
    real = tmp_path / "real-store"
    os.rename(stored.store_file, real)
    stored.store_file.symlink_to(real)
    with pytest.raises(StoreFileError, match=r"store .* is a symlink"):
        read_credential(Vault(stored), SVC, "alice")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
@pytest.mark.parametrize("which", ["key", "store", "config"])
def test_a_file_or_directory_of_another_owner_is_refused(stored: Dirs, which: str) -> None:
    path = {"key": stored.key_file, "store": stored.store_file, "config": stored.config}[which]
    os.chown(path, NOBODY, -1)
    with pytest.raises(StoreFileError, match=f"owned by uid {NOBODY}, not by you"):
        read_credential(Vault(stored), SVC, "alice")
    assert doctor_files().verdict == "fail"


def test_a_directory_symlink_of_ours_to_a_private_directory_is_fine(
    dirs: Dirs, tmp_path: Path
) -> None:
    real = tmp_path / "real-data"
    real.mkdir(mode=0o700)
    dirs.data.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dirs.data.symlink_to(real)  # a dotfiles setup
    Vault(dirs).login(SVC, "alice", "pw")
    found = read_credential(Vault(dirs), SVC, "alice")
    assert found is not None and found.secret == "pw"
    real.chmod(0o755)  # but what it points at is held to the rule
    with pytest.raises(StoreFileError, match="mode 0755"):
        read_credential(Vault(dirs), SVC, "alice")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a symlink away needs root")
def test_a_directory_symlink_planted_by_another_user_is_refused(dirs: Dirs, tmp_path: Path) -> None:
    real = tmp_path / "theirs"
    real.mkdir(mode=0o700)
    dirs.data.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dirs.data.symlink_to(real)
    os.lchown(dirs.data, NOBODY, -1)
    with pytest.raises(StoreFileError, match=f"symlink owned by uid {NOBODY}"):
        Vault(dirs).login(SVC, "alice", "pw")


@pytest.mark.parametrize("damage", ["0644", "symlink"])
def test_a_passphrase_file_open_to_others_or_symlinked_is_refused(
    tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse\n")
    phrase.chmod(0o600)
    assert passphrase_reader({"IDX_AUTH_PASSPHRASE_FILE": str(phrase)})(False) == "correct horse"
    named = phrase
    if damage == "0644":
        phrase.chmod(0o644)
        needle = "mode 0644.*chmod 600"
    else:
        named = tmp_path / "link"
        named.symlink_to(phrase)
        needle = "is a symlink"
    with pytest.raises(KeyUnavailableError, match=needle):
        passphrase_reader({"IDX_AUTH_PASSPHRASE_FILE": str(named)})(False)
    monkeypatch.setenv("IDX_AUTH_PASSPHRASE_FILE", str(named))
    check = doctor_files()
    assert check.verdict == "fail" and "IDX_AUTH_PASSPHRASE_FILE" in check.detail


def test_a_fifo_in_place_of_the_store_does_not_block(stored: Dirs) -> None:
    stored.store_file.unlink()
    os.mkfifo(stored.store_file, 0o600)
    with pytest.raises(StoreFileError, match="not a regular file"):
        read_credential(Vault(stored), SVC, "alice")
