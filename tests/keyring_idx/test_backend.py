from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from keyring import errors
from keyring.testing.backend import BackendBasicTests

from keyring_idx import backend
from keyring_idx.backend import IdxKeyring
from store.dirs import Dirs
from store.vault import Vault


class TestKeyringsOwnSuite(BackendBasicTests):
    """keyring's own backend tests, unchanged, against the store (scope=all)."""

    def init_keyring(self) -> IdxKeyring:
        ring = IdxKeyring()
        ring.scope = "all"
        return ring


@pytest.fixture
def ring() -> IdxKeyring:
    return IdxKeyring()


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
    ring = IdxKeyring()
    assert ring.scope == "all"
    ring.set_password("pypi.example.com", "alice", "pw")
    # a plain entry answers uv's host lookup
    assert IdxKeyring().get_password("pypi.example.com", "alice") == "pw"
    other = IdxKeyring().with_properties(scope="indexes")
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


def fake_agent(answer: object) -> types.SimpleNamespace:
    not_running = object()
    calls: list[tuple[str, str | None]] = []

    def get(service: str, username: str | None, timeout: float) -> object:
        calls.append((service, username))
        if isinstance(answer, Exception):
            raise answer
        return not_running if answer == "NOT_RUNNING" else answer

    return types.SimpleNamespace(get=get, NOT_RUNNING=not_running, calls=calls)


def test_agent_is_asked_first(
    ring: IdxKeyring, dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(dirs, "https://h.example/", "alice", "from-file")
    agent = fake_agent(("alice", "from-agent"))
    monkeypatch.setattr(backend, "_agent", agent)
    assert ring.get_password("https://h.example/simple/", "alice") == "from-agent"
    assert agent.calls == [("https://h.example/simple/", "alice")]
    bearer = fake_agent(("", "tok"))
    monkeypatch.setattr(backend, "_agent", bearer)
    cred = ring.get_credential("https://h.example/simple/", None)
    assert cred is not None and (cred.username, cred.password) == ("", "tok")


def test_agent_none_is_final_and_not_running_falls_back_to_the_file(
    ring: IdxKeyring, dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(dirs, "https://h.example/", "alice", "from-file")
    monkeypatch.setattr(backend, "_agent", fake_agent(None))
    assert ring.get_password("https://h.example/simple/", "alice") is None
    monkeypatch.setattr(backend, "_agent", fake_agent("NOT_RUNNING"))
    assert ring.get_password("https://h.example/simple/", "alice") == "from-file"
    monkeypatch.setattr(backend, "_agent", fake_agent(RuntimeError("boom")))
    assert ring.get_password("https://h.example/simple/", "alice") is None


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


def test_import_pulls_in_only_stdlib_keyring_and_the_agent_client() -> None:
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
    allowed = {"keyring_idx", "keyring_idx.backend", "store", "store.agent"}
    assert {m for m in ours if not m.startswith("store.agent.")} <= allowed
    third_party = {
        m.split(".")[0]
        for m in new
        if m.split(".")[0] not in sys.stdlib_module_names
        and m.split(".")[0] not in ("keyring_idx", "store", "keyring", "jaraco")
    }
    assert third_party == set()
