from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from keyring import errors
from keyring.testing.backend import BackendBasicTests

from keyring_idx.backend import IdxKeyring
from store.agent.cached_store import CachedStore
from store.dirs import Dirs, resolve_dirs
from store.vault import Vault
from tests.store.agent.conftest import start_server
from tests.store.agent.fakes import MemoryStore


def new_ring() -> IdxKeyring:
    """A backend as keyring makes one (its base class reads KEYRING_PROPERTY_* untyped)."""
    return IdxKeyring()  # type: ignore[no-untyped-call]


class TestKeyringsOwnSuite(BackendBasicTests):
    """keyring's own backend tests, unchanged, against the store (scope=all)."""

    def init_keyring(self) -> IdxKeyring:
        ring = new_ring()
        ring.scope = "all"
        return ring


@pytest.fixture
def ring() -> IdxKeyring:
    return new_ring()


def login(dirs: Dirs, service: str, username: str, secret: str) -> None:
    Vault(dirs).login(service, username, secret)


def test_priority_is_just_under_the_chainer() -> None:
    assert 9 <= IdxKeyring.priority < 10
    assert IdxKeyring.viable


def test_every_form_uv_and_pip_send(ring: IdxKeyring, dirs: Dirs) -> None:
    login(dirs, "http://127.0.0.1:8080/", "alice", "pw-a")
    login(dirs, "https://h.example/api", "bob", "pw-b")
    for asked in (
        "http://127.0.0.1:8080/simple/",
        "http://127.0.0.1:8080/simple",
        "http://127.0.0.1:8080/packages/p-1.0.tar.gz",
        "127.0.0.1:8080",
        "http://127.0.0.1:8080",
    ):
        assert ring.get_password(asked, "alice") == "pw-a", asked
        cred = ring.get_credential(asked, None)
        assert cred is not None and (cred.username, cred.password) == ("alice", "pw-a")
    assert ring.get_password("https://h.example/api/simple/", "bob") == "pw-b"
    assert ring.get_password("https://h.example/apiary/simple/", "bob") is None
    assert ring.get_password("http://127.0.0.1:8081/simple/", "alice") is None
    assert ring.get_password("http://127.0.0.1:8080/simple/", "bob") is None
    assert ring.get_credential("https://nowhere.example/simple/", None) is None


def test_an_empty_username_means_none(ring: IdxKeyring, dirs: Dirs) -> None:
    """pdm runs `keyring --mode=creds get URL ""` for a source without a username."""
    login(dirs, "http://127.0.0.1:8080/", "alice", "pw-a")
    cred = ring.get_credential("http://127.0.0.1:8080/simple/", "")
    assert cred is not None and (cred.username, cred.password) == ("alice", "pw-a")
    assert ring.get_password("http://127.0.0.1:8080/simple/", "") == "pw-a"
    login(dirs, "http://127.0.0.1:8080/", "bob", "pw-b")
    assert ring.get_credential("http://127.0.0.1:8080/simple/", "") is None  # ambiguous


def test_ambiguous_lookup_returns_nothing_and_names_the_usernames(
    ring: IdxKeyring, dirs: Dirs, capsys: pytest.CaptureFixture[str]
) -> None:
    login(dirs, "https://h.example/api", "alice", "pw-a")
    login(dirs, "https://h.example/api", "bob", "pw-b")
    assert ring.get_credential("https://h.example/api/simple/", None) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "alice, bob" in err and "UV_INDEX_<NAME>_USERNAME" in err
    assert "pw-" not in err
    cred = ring.get_credential("https://h.example/api/simple/", "bob")
    assert cred is not None and cred.password == "pw-b"


def test_ambiguous_lookup_answered_by_the_agent_names_the_usernames_too(
    ring: IdxKeyring,
    dirs: Dirs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login(dirs, "https://h.example/api", "alice", "pw-a")
    login(dirs, "https://h.example/api", "bob", "pw-b")
    monkeypatch.setenv("IDX_AUTH_RUNTIME_DIR", str(tmp_path / "agent-run"))
    with start_server(tmp_path, CachedStore(dirs)):
        dirs.key_file.rename(dirs.key_file.with_name("away"))  # only the agent can answer now
        assert ring.get_credential("https://h.example/api/simple/", None) is None
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "alice, bob" in err and "pw-" not in err
        cred = ring.get_credential("https://h.example/api/simple/", "bob")
        assert cred is not None and cred.password == "pw-b"


def test_set_password_stores_index_urls_under_uvs_login_key(ring: IdxKeyring, dirs: Dirs) -> None:
    ring.set_password("https://h.example/api/simple/", "alice", "pw")
    doc = Vault(dirs).read()
    assert [(e.service, e.username, e.plain) for e in doc.entries] == [
        ("https://h.example/api", "alice", False)
    ]
    assert ring.get_password("https://h.example/api/files/x.whl", "alice") == "pw"
    ring.delete_password("https://h.example/api/simple", "alice")
    assert Vault(dirs).read().entries == ()
    with pytest.raises(errors.PasswordDeleteError):
        ring.delete_password("https://h.example/api", "alice")


def test_scope_indexes_defers_other_names(ring: IdxKeyring, dirs: Dirs) -> None:
    with pytest.raises(NotImplementedError):
        ring.set_password("my-app", "alice", "pw")
    with pytest.raises(NotImplementedError):
        ring.delete_password("my-app", "alice")
    with pytest.raises(NotImplementedError):  # bare hosts are names too: no scheme, no guess
        ring.set_password("pypi.example.com", "alice", "pw")
    assert not dirs.store_file.exists()


def test_scope_from_keyrings_property_environment(
    dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYRING_PROPERTY_SCOPE", "all")
    ring = new_ring()
    assert ring.scope == "all"
    ring.set_password("pypi.example.com", "alice", "pw")
    # a plain entry answers uv's host lookup
    assert new_ring().get_password("pypi.example.com", "alice") == "pw"
    other = new_ring().with_properties(scope="indexes")
    assert isinstance(other, IdxKeyring) and other.scope == "indexes"


def test_lookups_never_raise(
    ring: IdxKeyring, dirs: Dirs, capsys: pytest.CaptureFixture[str]
) -> None:
    login(dirs, "https://h.example/", "alice", "pw")
    dirs.key_file.unlink()  # the store can no longer be decrypted
    assert ring.get_password("https://h.example/simple/", "alice") is None
    assert ring.get_credential("https://h.example/simple/", None) is None
    assert ring.get_credential("h.example", None) is None
    err = capsys.readouterr().err
    assert "key file" in err and err.count("\n") <= 1
    dirs.store_file.write_text("this is [not toml")
    assert ring.get_password("https://h.example/simple/", "alice") is None
    with pytest.raises(errors.PasswordSetError):
        ring.set_password("https://h.example/", "alice", "pw2")


def test_agent_is_asked_first_and_its_answer_is_final(
    ring: IdxKeyring, dirs: Dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real agent server and client over the socket (with an in-memory store behind it)."""
    monkeypatch.setenv("IDX_AUTH_RUNTIME_DIR", str(tmp_path / "agent-run"))
    login(dirs, "https://h.example/", "alice", "from-file")
    login(dirs, "https://other.example/", "alice", "file-only")
    memory = MemoryStore(
        {
            ("https://h.example/", "alice"): ("basic", "from-agent"),
            ("https://t.example/", None): ("bearer", "tok"),
        },
        store_path=str(dirs.store_file),  # the agent of this store
    )
    with start_server(tmp_path, memory):
        assert ring.get_password("https://h.example/", "alice") == "from-agent"
        assert ring.get_password("https://other.example/", "alice") is None
        cred = ring.get_credential("https://t.example/", None)
        assert cred is not None and (cred.username, cred.password) == ("", "tok")
    # no agent any more: the file answers
    assert ring.get_password("https://h.example/", "alice") == "from-file"
    assert ring.get_password("https://other.example/", "alice") == "file-only"


def test_a_stale_socket_falls_back_to_the_file(
    ring: IdxKeyring, dirs: Dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setenv("IDX_AUTH_RUNTIME_DIR", str(tmp_path / "stale"))
    (tmp_path / "stale").mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "stale" / "agent.sock"))  # bound, never listening
        login(dirs, "https://h.example/", "alice", "from-file")
        assert ring.get_password("https://h.example/", "alice") == "from-file"


IMPORT_CHECK = """
import json, sys
before = set(sys.modules)
import keyring_idx.backend
new = sorted(set(sys.modules) - before)
print(json.dumps(new))
"""

FORBIDDEN = (
    "cryptography",
    "httpx",
    "tomllib",
    "tomli_w",
    "platformdirs",
    "store.vault",
    "store.service",
    "store.codec",
    "keyring_idx.resolver",
    "keyring_idx.cli",
)


def test_import_pulls_in_only_the_standard_library_and_keyring() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import keyring.backend\n" + IMPORT_CHECK],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    ).stdout
    new: list[str] = json.loads(out)
    assert "keyring_idx.backend" in new
    bad = [m for m in new if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
    ours = {m for m in new if m.split(".")[0] in ("keyring_idx", "store")}
    assert ours <= {"keyring_idx", "keyring_idx.backend"}
    third_party = {
        m.split(".")[0]
        for m in new
        if m.split(".")[0] not in sys.stdlib_module_names
        and m.split(".")[0] not in ("keyring_idx", "store", "keyring", "jaraco")
    }
    assert third_party == set()


def test_entries_with_a_refresh_provider_go_through_store_refresh(
    ring: IdxKeyring, dirs: Dirs
) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    vault = Vault(dirs)
    vault.login(
        "https://fresh.example/",
        "aws",
        "tok-valid",
        expires_at=now + timedelta(hours=6),
        refresh={"provider": "quantum"},
    )
    vault.login(
        "https://stale.example/",
        "aws",
        "tok-expired",
        expires_at=now - timedelta(hours=1),
        refresh={"provider": "quantum"},
    )
    assert ring.get_password("https://fresh.example/simple/", "aws") == "tok-valid"
    # expired, and its provider cannot refresh it: nothing, and no exception
    assert ring.get_password("https://stale.example/simple/", "aws") is None
    assert ring.get_credential("https://stale.example/simple/", None) is None


def test_a_lookup_leaves_the_garbage_collector_as_it_found_it(ring: IdxKeyring, dirs: Dirs) -> None:
    import gc

    login(dirs, "https://h.example/", "alice", "pw")
    assert gc.isenabled()
    assert ring.get_password("https://h.example/", "alice") == "pw"
    assert gc.isenabled()
    gc.disable()
    try:
        assert ring.get_password("https://h.example/", "nobody") is None
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_locked_agent_answers_nothing_and_says_so_once(
    ring: IdxKeyring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The file is not read behind a locked agent (no passphrase prompt under pip or uv).
    monkeypatch.setattr("keyring_idx.backend._warned_store", False)
    monkeypatch.setenv("IDX_AUTH_RUNTIME_DIR", str(tmp_path / "agent-run"))
    locked = MemoryStore(
        {("https://h/", "alice"): ("basic", "pw-a")},
        passphrase="pp",
        store_path=str(resolve_dirs().store_file),
    )
    with start_server(tmp_path, locked):
        assert ring.get_credential("https://h/", "alice") is None
        assert ring.get_password("https://h/", "alice") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "idx-auth unlock" in err and "pw-a" not in err


def test_keyring_set_of_an_empty_service_is_refused_and_the_store_stays_readable(
    dirs: Dirs,
) -> None:
    ring = new_ring()
    ring.scope = "all"  # plain keyring names are stored too
    login(dirs, "https://h.example/", "alice", "pw-a")
    with pytest.raises(errors.PasswordSetError, match="service is empty"):
        ring.set_password("", "u", "pw")
    assert ring.get_password("https://h.example/", "alice") == "pw-a"
    assert Vault(dirs).read().skipped == ()
