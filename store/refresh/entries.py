"""Refreshing entries of the store: the I/O shell around :func:`store.refresh.routine.refresh`.

Every refresh runs inside :meth:`store.vault.Vault.update`, under the store lock from the
read to the write: two processes that find the same expired token take turns, and the second
finds the first one's token and fetches nothing. The agent, ``idx-auth refresh`` and a lookup
without an agent (:func:`store.access.get_credential`) all come through here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from store import crypto
from store.errors import StoreFileError
from store.model import Credential, Document, Entry, Scheme, entry_key
from store.refresh import roster, schedule
from store.refresh.errors import RefreshError
from store.refresh.roster import Key
from store.refresh.routine import Clock, Outcome, first_token, refresh
from store.refresh.schedule import RandomSource, Reason
from store.refresh.spec import ProviderSpec
from store.refresh.state import (
    RefreshState,
    one_line,
    state_fields,
    state_from_fields,
    stored_state,
)
from store.refresh.token import Token
from store.sealing import Sealer

if TYPE_CHECKING:
    import httpx

    from store.vault import Vault

EntryFilter = Callable[[Entry], bool]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EntryRefresh:
    """What happened to one entry."""

    service: str
    username: str | None
    provider: str
    outcome: Outcome

    @property
    def display(self) -> str:
        return f"{self.username}@{self.service}" if self.username else self.service

    def describe(self) -> dict[str, object]:
        """JSON-ready, for ``idx-auth refresh --json`` and the agent's reply: never the token."""
        token = self.outcome.state.token
        return {
            "service": self.service,
            "username": self.username,
            "provider": self.provider,
            "attempted": self.outcome.attempted,
            "refreshed": self.outcome.refreshed,
            "expires_at": token.expires_at.isoformat() if token else None,
            "error": str(self.outcome.error) if self.outcome.error else None,
        }


def spec_of(entry: Entry, sealer: Sealer) -> ProviderSpec | None:
    """The entry's provider spec (secrets opened), or None for an entry without refresh."""
    if not entry.refresh:
        return None
    return ProviderSpec.from_flat(_open(sealer.refresh_settings, entry))


def state_of(entry: Entry, sealer: Sealer) -> RefreshState:
    return state_from_fields(dict(entry.refresh), _open(sealer.secret, entry), entry.expires_at)


def stored_entry(
    sealer: Sealer,
    service_key: str,
    username: str | None,
    scheme: Scheme,
    spec: ProviderSpec,
    state: RefreshState,
    *,
    plain: bool = False,
    fallback_secret: str | None = None,
) -> Entry:
    """An entry holding ``state``'s token with ``spec`` and the refresh history, sealed."""
    token = state.token
    return sealer.entry(
        service_key,
        username,
        scheme,
        token.secret if token is not None else fallback_secret,
        plain=plain,
        expires_at=token.expires_at if token is not None else None,
        refresh={**spec.to_flat(), **state_fields(state)},
    )


def refresh_entries(
    vault: Vault,
    *,
    now: datetime,
    reason: Reason,
    rand: RandomSource | None = None,
    matches: EntryFilter | None = None,
    http_client: httpx.Client | None = None,
    clock: Clock | None = None,
    known: Mapping[Key, RefreshState] | None = None,
) -> list[EntryRefresh]:
    """Run one refresh step for every entry with a provider (and ``matches``), under the lock;
    entries whose attempt was made are written back with their new token or error.

    ``known`` is the agent's in-memory state by (service, username): its planned attempt is
    used when the store still shows the history it was planned from (see
    :func:`store.refresh.roster.adopt`); the store alone decides otherwise.
    """
    pick = rand or random.random

    def change(doc: Document, sealer: Sealer) -> tuple[Document, list[EntryRefresh]]:
        results: list[EntryRefresh] = []
        for entry in doc.entries:
            if not entry.refresh or (matches is not None and not matches(entry)):
                continue
            provider = dict(entry.refresh).get("provider", "?")
            try:
                spec = spec_of(entry, sealer)
            except RefreshError as exc:
                # One entry with settings we cannot use must not stop the others.
                state = RefreshState(last_error=one_line(str(exc)))
                results.append(_result(entry, provider, Outcome(state, False, False, exc)))
                continue
            assert spec is not None  # entry.refresh is not empty
            state = state_of(entry, sealer)
            if known is not None:
                state = roster.adopt(state, known.get(entry_key(entry)))
            outcome = refresh(
                state,
                spec,
                now=now,
                reason=reason,
                rand=pick,
                http_client=http_client,
                clock=clock,
            )
            results.append(_result(entry, provider, outcome))
            if outcome.attempted:
                fallback = _open(sealer.secret, entry)
                replacement = stored_entry(
                    sealer,
                    entry.service,
                    entry.username,
                    entry.scheme,
                    spec,
                    outcome.state,
                    plain=entry.plain,
                    fallback_secret=fallback,
                )
                doc, _ = doc.put(replacement)
        return doc, results

    return vault.update(change)


def fresh_credential(
    vault: Vault,
    doc: Document,
    found: Entry,
    *,
    now: datetime,
    rand: RandomSource | None = None,
    http_client: httpx.Client | None = None,
) -> Credential | None:
    """``found`` (an entry of ``doc``, however it was matched) revealed -- refreshed first,
    under the store lock, if it has a provider and its token is expired or nearly so.

    The lock makes concurrent lookups take turns: the second re-reads the entry, finds the
    first one's token and fetches nothing. A refresh that fails while the token is still valid
    returns that token; one that fails with nothing valid left raises the RefreshError.
    """
    if not found.refresh:
        return vault.reveal(doc, found)
    # Deciding needs only the expiry; a placeholder stands in for the sealed secret.
    if not schedule.is_nearly_expired(stored_state(found).token, now):
        return vault.reveal(doc, found)
    key = entry_key(found)
    results = refresh_entries(
        vault,
        now=now,
        reason=Reason.EXPIRING,
        rand=rand,
        matches=lambda e: e.plain == found.plain and entry_key(e) == key,
        http_client=http_client,
    )
    for result in results:
        kept = result.outcome.state.token
        if result.outcome.error is not None and (kept is None or not kept.is_valid(now)):
            raise result.outcome.error
    current = vault.read()
    for entry in current.entries:
        if entry.plain == found.plain and entry_key(entry) == key:
            cred = vault.reveal(current, entry)
            # An expired token is never handed out: the index would refuse it anyway.
            if entry.refresh and (entry.expires_at is None or entry.expires_at <= now):
                return None
            return cred
    return None  # removed meanwhile (logout by another process)


def login(
    vault: Vault,
    service_key: str,
    username: str | None,
    spec: ProviderSpec,
    *,
    now: datetime,
    scheme: Scheme = "basic",
    http_client: httpx.Client | None = None,
) -> tuple[Token, bool]:
    """Fetch the first token from ``spec``'s provider (RefreshError if it cannot) and store it
    with the provider settings; the token, and whether an entry was replaced."""
    token = first_token(spec, now=now, http_client=http_client)
    state = RefreshState(token=token, last_success=now, last_attempt=now)

    def change(doc: Document, sealer: Sealer) -> tuple[Document, bool]:
        return doc.put(stored_entry(sealer, service_key, username, scheme, spec, state))

    return token, vault.update(change)


def _open(reader: Callable[[Entry], T], entry: Entry) -> T:
    try:
        return reader(entry)
    except crypto.CryptoError:
        who = f"{entry.username}@{entry.service}" if entry.username else entry.service
        raise StoreFileError(
            f"the secrets of {who} failed authentication (tampered or corrupted); "
            "log in to it again to replace them"
        ) from None


def _result(entry: Entry, provider: str, outcome: Outcome) -> EntryRefresh:
    return EntryRefresh(entry.service, entry.username, provider, outcome)
