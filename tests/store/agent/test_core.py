from __future__ import annotations

from store.agent import protocol as p
from store.agent.core import AgentCore, is_slow
from tests.store.agent.fakes import PASSPHRASE, MemoryStore

ENTRIES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("https://h/", "alice"): ("basic", "pw-a"),
    ("https://h/", "bob"): ("basic", "pw-b"),
    ("https://t/", "__token__"): ("bearer", "tok"),
}


def key_file_core() -> AgentCore:
    core = AgentCore(MemoryStore(ENTRIES))
    core.start(0.0)
    return core


def passphrase_core() -> AgentCore:
    core = AgentCore(MemoryStore(ENTRIES, passphrase=PASSPHRASE), idle=10, maximum=100)
    core.start(0.0)
    return core


def test_key_file_store_unlocks_at_start_and_answers() -> None:
    core = key_file_core()
    reply = core.handle(p.Get("https://h/", "alice"), 1.0)
    assert reply.ok
    assert reply.data == {
        "service": "https://h/",
        "username": "alice",
        "scheme": "basic",
        "secret": "pw-a",
    }
    assert core.handle(p.Get("https://t/"), 1.0).data["secret"] == "tok"


def test_not_found_and_ambiguous() -> None:
    core = key_file_core()
    assert core.handle(p.Get("https://none/", "x"), 1.0).status == p.NOT_FOUND
    reply = core.handle(p.Get("https://h/"), 1.0)
    assert reply.status == p.AMBIGUOUS
    assert "alice" in reply.message and "pw-a" not in reply.message


def test_passphrase_store_starts_locked_and_unlocks() -> None:
    core = passphrase_core()
    assert core.handle(p.Get("https://h/", "alice"), 1.0).status == p.LOCKED
    assert core.status(1.0)["locked"] is True
    assert core.handle(p.Unlock(), 1.0).status == p.INVALID
    assert core.handle(p.Unlock("wrong"), 1.0).status == p.FAILED
    assert core.handle(p.Get("https://h/", "alice"), 1.0).status == p.LOCKED
    assert core.handle(p.Unlock(PASSPHRASE), 1.0).ok
    assert core.handle(p.Get("https://h/", "alice"), 2.0).data["secret"] == "pw-a"
    assert core.status(2.0)["locked"] is False


def test_idle_timeout_locks_and_use_resets_it() -> None:
    core = passphrase_core()
    core.handle(p.Unlock(PASSPHRASE), 0.0)
    assert core.handle(p.Get("https://h/", "alice"), 8.0).ok
    assert core.tick(15.0) == 18.0  # reset by the use at 8.0
    assert core.handle(p.Get("https://h/", "alice"), 17.0).ok
    assert core.tick(28.0) is None  # idle since 17.0: locked
    assert not core.store.unlocked
    assert core.handle(p.Get("https://h/", "alice"), 28.0).status == p.LOCKED


def test_hard_maximum_locks_a_busy_store() -> None:
    core = passphrase_core()
    core.handle(p.Unlock(PASSPHRASE), 0.0)
    for now in range(5, 100, 5):
        assert core.handle(p.Get("https://h/", "alice"), float(now)).ok
    assert core.handle(p.Get("https://h/", "alice"), 100.0).status == p.LOCKED


def test_lock_and_key_file_unlock() -> None:
    core = key_file_core()
    assert core.handle(p.Lock(), 1.0).ok
    assert core.handle(p.Get("https://h/", "alice"), 1.0).status == p.LOCKED
    assert core.status(1.0)["locked"] is True
    assert core.handle(p.Unlock(), 2.0).ok
    assert core.handle(p.Get("https://h/", "alice"), 2.0).ok
    assert core.tick(10_000.0) is None  # key-file stores have no idle lock
    assert core.store.unlocked


def test_login_logout_list() -> None:
    core = key_file_core()
    assert core.handle(p.Login("https://n/", "carol", "basic", "pw-c"), 1.0).ok
    assert core.handle(p.Get("https://n/", "carol"), 1.0).data["secret"] == "pw-c"
    listed = core.handle(p.ListEntries(), 1.0).data["entries"]
    assert {
        "service": "https://n/",
        "username": "carol",
        "scheme": "basic",
        "expires_at": None,
        "refresh": None,
        "refreshed_at": None,
        "last_error": None,
        "failures": 0,
        "next_refresh": None,
        "last_attempt": None,
        "kind": "index",
        "has_secret": True,
    } in listed
    assert all("secret" not in e for e in listed)
    assert core.handle(p.Logout("https://n/", "carol"), 1.0).ok
    assert core.handle(p.Get("https://n/", "carol"), 1.0).status == p.NOT_FOUND
    assert core.handle(p.Logout("https://n/", "carol"), 1.0).status == p.NOT_FOUND


def test_status_shape() -> None:
    status = key_file_core().status(1.0)
    assert status["locked"] is False
    assert status["store"] == "/fake/credentials.toml"
    assert status["entry_count"] == 3
    assert status["protocol"] == p.VERSION
    assert "pw-a" not in repr(status)


def test_refresh_is_reported_unsupported_for_now() -> None:
    assert key_file_core().handle(p.Refresh(), 1.0).status == p.UNSUPPORTED


def test_slow_ops() -> None:
    assert is_slow(p.Unlock("x")) and is_slow(p.Login("s", "u", "basic", "x"))
    assert not is_slow(p.Get("s")) and not is_slow(p.Status()) and not is_slow(p.Lock())
