"""``declared[NAME]`` verdicts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keyring_idx.declared import Declared
from keyring_idx.doctor.declared_checks import check_declared
from keyring_idx.resolver.config import Index
from store.model import Entry

NOW = datetime(2030, 1, 1, tzinfo=UTC)
URL = "https://pypi.internal.example/simple/"
INDEXES = {"internal": Index(url=URL, name="internal")}
VAULT = Declared("internal", (("provider", "vault"), ("vault-path", "secret/x")))


def entry(
    *,
    provider: str | None = "vault",
    expires: timedelta | None = timedelta(hours=1),
    last_error: str | None = None,
) -> Entry:
    table = {"provider": provider} if provider else {}
    if last_error:
        table["last-error"] = last_error
    return Entry(
        "https://pypi.internal.example/",
        "ci-bot",
        "basic",
        "enc:sealed",
        expires_at=NOW + expires if expires is not None else None,
        refresh=tuple(table.items()),
    )


def verdict(declared: Declared, *entries: Entry, store_error: str | None = None) -> tuple[str, str]:
    (check,) = check_declared([declared], INDEXES, list(entries), NOW, store_error=store_error)
    assert check.name == f"declared[{declared.name}]"
    return check.verdict, check.detail


def test_a_covering_entry_from_the_declared_provider_is_ok() -> None:
    assert verdict(VAULT, entry())[0] == "ok"


def test_missing_expired_and_failing_entries() -> None:
    assert verdict(VAULT) == ("fail", "https://pypi.internal.example/simple/: no credential stored")
    state, detail = verdict(VAULT, entry(expires=-timedelta(seconds=1), last_error="down"))
    assert state == "fail" and "expired; last refresh error: down" in detail
    state, detail = verdict(VAULT, entry(last_error="vault provider: permission denied"))
    assert state == "warn" and "permission denied" in detail


def test_provider_mismatch_and_unknown_index() -> None:
    state, detail = verdict(VAULT, entry(provider=None, expires=None))
    assert state == "warn" and "typed password" in detail and "vault provider" in detail
    state, detail = verdict(Declared("ghost"), entry())
    assert state == "fail" and "no uv index has that name" in detail


def test_a_declared_username_must_match() -> None:
    alice = Declared("internal", (("username", "alice"),))
    assert verdict(alice, entry(provider=None, expires=None))[0] == "fail"


def test_an_unreadable_store_fails_every_declaration() -> None:
    state, detail = verdict(VAULT, store_error="wrong key")
    assert state == "fail" and "wrong key" in detail
