"""Refreshing stored entries: a real Vault in tmp dirs and a real token endpoint on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from store.dirs import Dirs
from store.refresh import entries
from store.refresh.errors import TokenFetchError
from store.refresh.schedule import Reason
from store.refresh.spec import ProviderSpec
from store.vault import Vault
from tests.store.reading import read_credential
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

T0 = datetime(2030, 1, 1, tzinfo=UTC)
INDEX = "https://pkgs.example/simple"
CLIENT_SECRET = "client-secret-value-123"


class Minter:
    """A token endpoint that numbers its tokens; each lives ``lifetime`` seconds."""

    def __init__(self, lifetime: int = 100) -> None:
        self.lifetime = lifetime
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self.lock:
            self.count += 1
            number = self.count
        return Reply.json({"access_token": f"tok-{number}", "expires_in": self.lifetime})


@pytest.fixture
def minter() -> Minter:
    return Minter()


@pytest.fixture
def endpoint(minter: Minter) -> Iterator[Loopback]:
    with serve(minter) as server:
        yield server


def oauth2(server: Loopback) -> ProviderSpec:
    return ProviderSpec.build(
        "oauth2",
        {"token-url": f"{server.url}/token", "client-id": "ci"},
        {"client-secret": CLIENT_SECRET},
    )


@pytest.fixture
def vault(dirs: Dirs, endpoint: Loopback) -> Vault:
    v = Vault(dirs)
    token, replaced = entries.login(v, "https://pkgs.example", "ci-bot", oauth2(endpoint), now=T0)
    assert token.secret == "tok-1" and not replaced
    return v


def test_login_stores_token_expiry_and_sealed_settings(vault: Vault, dirs: Dirs) -> None:
    text = dirs.store_file.read_text()
    assert CLIENT_SECRET not in text and "tok-1" not in text
    assert 'secret-client-secret = "enc:v1:' in text
    assert 'provider = "oauth2"' in text and "refreshed-at" in text
    doc = vault.read()
    (entry,) = doc.entries
    assert entry.expires_at == T0 + timedelta(seconds=100)
    assert doc.header is not None
    spec = entries.spec_of(entry, vault.sealer(doc.header))
    assert spec is not None and spec.secret("client-secret") == CLIENT_SECRET


def test_lookup_of_a_valid_token_fetches_nothing(vault: Vault, minter: Minter) -> None:
    cred = read_credential(vault, INDEX + "/pkg/", None, now=T0 + timedelta(seconds=50))
    assert cred is not None and cred.secret == "tok-1" and minter.count == 1


def test_lookup_refreshes_an_expired_token_once(vault: Vault, minter: Minter) -> None:
    later = T0 + timedelta(seconds=150)
    cred = read_credential(vault, INDEX, "ci-bot", now=later)
    assert cred is not None and cred.secret == "tok-2"
    assert cred.expires_at == later + timedelta(seconds=100)
    again = read_credential(vault, INDEX, "ci-bot", now=later)
    assert again is not None and again.secret == "tok-2" and minter.count == 2


def test_concurrent_lookups_mint_one_token(vault: Vault, minter: Minter, dirs: Dirs) -> None:
    later = T0 + timedelta(seconds=150)
    secrets: list[str | None] = []
    start = threading.Barrier(6)

    def look() -> None:
        start.wait()
        cred = read_credential(Vault(dirs), INDEX, "ci-bot", now=later)
        secrets.append(cred.secret if cred else None)

    threads = [threading.Thread(target=look) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert secrets == ["tok-2"] * 6
    assert minter.count == 2  # the login's and exactly one refresh


def test_failing_endpoint_keeps_serving_a_valid_token(
    vault: Vault, endpoint: Loopback, minter: Minter
) -> None:
    endpoint.handler = lambda request: Reply(500, b"down", "text/plain")
    nearly = T0 + timedelta(seconds=95)  # within the last tenth of the lifetime
    cred = read_credential(vault, INDEX, "ci-bot", now=nearly)
    assert cred is not None and cred.secret == "tok-1"
    (entry,) = vault.read().entries
    fields = dict(entry.refresh)
    assert fields["failures"] == "1" and "HTTP 500" in fields["last-error"]
    # Expired and still failing: the provider's error, not a stale token.
    with pytest.raises(TokenFetchError, match="HTTP 500"):
        read_credential(vault, INDEX, "ci-bot", now=T0 + timedelta(seconds=101))
    # The endpoint recovers: the next lookup refreshes and the history is cleared.
    endpoint.handler = minter
    cred = read_credential(vault, INDEX, "ci-bot", now=T0 + timedelta(seconds=102))
    assert cred is not None and cred.secret == "tok-2"
    (entry,) = vault.read().entries
    assert "failures" not in dict(entry.refresh) and "last-error" not in dict(entry.refresh)


def test_refresh_entries_by_reason_and_filter(
    vault: Vault, endpoint: Loopback, minter: Minter
) -> None:
    entries.login(vault, "https://other.example", "bot", oauth2(endpoint), now=T0)
    vault.login("https://plain.example", "alice", "password")  # no provider: never touched
    early = T0 + timedelta(seconds=10)
    due = entries.refresh_entries(vault, now=early, reason=Reason.DUE)
    assert [r.outcome.attempted for r in due] == [False, False]
    forced = entries.refresh_entries(
        vault,
        now=early,
        reason=Reason.FORCE,
        matches=lambda e: e.service == "https://other.example",
    )
    assert [(r.display, r.outcome.refreshed) for r in forced] == [
        ("bot@https://other.example", True)
    ]
    late = entries.refresh_entries(vault, now=T0 + timedelta(seconds=80), reason=Reason.DUE)
    assert [r.outcome.refreshed for r in late] == [True, False]
    assert minter.count == 4
    plain = read_credential(vault, "https://plain.example/", "alice")
    assert plain is not None and plain.secret == "password"


def test_an_entry_with_an_unknown_provider_does_not_stop_the_others(
    vault: Vault, dirs: Dirs
) -> None:
    vault.login(
        "https://future.example", "x", "old", expires_at=T0, refresh={"provider": "quantum"}
    )
    results = entries.refresh_entries(vault, now=T0 + timedelta(seconds=99), reason=Reason.DUE)
    by_service = {r.service: r.outcome for r in results}
    assert by_service["https://pkgs.example"].refreshed
    assert "unknown token provider 'quantum'" in str(by_service["https://future.example"].error)
    doc = vault.read()  # the stored secret, as it is: a lookup would try the provider
    kept = doc.find("https://future.example", "x")
    assert kept is not None and vault.reveal(doc, kept).secret == "old"


def test_login_fails_with_the_providers_error_and_stores_nothing(
    dirs: Dirs, endpoint: Loopback
) -> None:
    endpoint.handler = lambda request: Reply.json({"error": "invalid_client"}, 401)
    v = Vault(dirs)
    with pytest.raises(TokenFetchError, match="invalid_client"):
        entries.login(v, "https://pkgs.example", "ci-bot", oauth2(endpoint), now=T0)
    assert not dirs.store_file.exists()
