"""Refreshing entries of the store: the I/O shell around :func:`store.refresh.routine.refresh`.

Every refresh runs inside :meth:`store.vault.Vault.update`, under the store lock from the
read to the write: two processes that find the same expired token take turns, and the second
finds the first one's token and fetches nothing. The agent, ``idx-auth refresh`` and a lookup
without an agent (:func:`store.access.get_credential`) all come through here.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from store import crypto, files
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
    wait: float | None = None,
) -> list[EntryRefresh]:
    """Run one refresh step for every entry with a provider (and ``matches``); entries whose
    attempt was made are written back with their new token or error.

    The provider runs outside the store lock, holding only its entry's refresh lock
    (:func:`store.files.slot_locked`): a slow or hanging provider delays nobody but lookups of
    that very entry. The result is written under the store lock only if the entry is still what
    the attempt started from; an entry another process changed meanwhile (a login, a logout, a
    refresh) keeps that process's version. ``wait`` bounds how long to wait for an entry whose
    refresh another process (or thread) is running (None: as long as it takes; an entry still
    busy after it is reported as not attempted).

    ``known`` is the agent's in-memory state by (service, username): its planned attempt is
    used when the store still shows the history it was planned from (see
    :func:`store.refresh.roster.adopt`); the store alone decides otherwise.
    """
    pick = rand or random.random
    doc = vault.read()
    results: list[EntryRefresh] = []
    for entry in doc.entries:
        if not entry.refresh or (matches is not None and not matches(entry)):
            continue
        results.append(
            _refresh_one(
                vault,
                entry,
                now=now,
                reason=reason,
                rand=pick,
                http_client=http_client,
                clock=clock,
                known=known,
                wait=wait,
            )
        )
    return results


def _refresh_one(
    vault: Vault,
    seen: Entry,
    *,
    now: datetime,
    reason: Reason,
    rand: RandomSource,
    http_client: httpx.Client | None,
    clock: Clock | None,
    known: Mapping[Key, RefreshState] | None,
    wait: float | None,
) -> EntryRefresh:
    provider = dict(seen.refresh).get("provider", "?")
    with files.slot_locked(vault.dirs.refresh_lock_file, _slot(seen), timeout=wait) as held:
        if not held:
            return _result(seen, provider, Outcome(stored_state(seen), False, False))
        # Re-read under the entry's lock: whoever held it may have refreshed it already.
        doc = vault.read()
        entry = _same_entry(doc, seen)
        if entry is None or doc.header is None:
            return _result(seen, provider, Outcome(stored_state(seen), False, False))
        sealer = vault.sealer(doc.header)
        try:
            spec = spec_of(entry, sealer)
        except RefreshError as exc:
            # One entry with settings we cannot use must not stop the others.
            state = RefreshState(last_error=one_line(str(exc)))
            return _result(entry, provider, Outcome(state, False, False, exc))
        assert spec is not None  # entry.refresh is not empty
        state = state_of(entry, sealer)
        if known is not None:
            state = roster.adopt(state, known.get(entry_key(entry)))
        outcome = refresh(
            state, spec, now=now, reason=reason, rand=rand, http_client=http_client, clock=clock
        )
        if outcome.attempted:
            _write_back(vault, entry, spec, outcome.state)
        return _result(entry, provider, outcome)


def _write_back(vault: Vault, started: Entry, spec: ProviderSpec, state: RefreshState) -> None:
    def change(doc: Document, sealer: Sealer) -> tuple[Document, bool]:
        if _same_entry(doc, started) != started:
            return doc, False  # changed or removed meanwhile: that change wins
        fallback = _open(sealer.secret, started)
        replacement = stored_entry(
            sealer,
            started.service,
            started.username,
            started.scheme,
            spec,
            state,
            plain=started.plain,
            fallback_secret=fallback,
        )
        return doc.put(replacement)

    vault.update(change)


def _same_entry(doc: Document, entry: Entry) -> Entry | None:
    key = entry_key(entry)
    for candidate in doc.entries:
        if candidate.plain == entry.plain and entry_key(candidate) == key:
            return candidate
    return None


def _slot(entry: Entry) -> int:
    """The entry's byte in the refresh lock file (a collision only makes two entries wait
    for each other)."""
    name = f"{int(entry.plain)}\0{entry.service}\0{entry.username or ''}".encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=4).digest(), "big") & 0x7FFFFFFF


def fresh_credential(
    vault: Vault,
    doc: Document,
    found: Entry,
    *,
    now: datetime,
    rand: RandomSource | None = None,
    http_client: httpx.Client | None = None,
) -> Credential | None:
    """``found`` (an entry of ``doc``, however it was matched) revealed -- refreshed first if it
    has a provider and its token is expired or nearly so.

    Concurrent lookups of the same entry take turns on its refresh lock: the second re-reads
    the entry, finds the first one's token and fetches nothing. While its token is still valid,
    a lookup that finds another refresh under way answers with that token at once. A refresh
    that fails while the token is still valid returns that token; one that fails with nothing
    valid left raises the RefreshError.
    """
    if not found.refresh:
        return vault.reveal(doc, found)
    # Deciding needs only the expiry; a placeholder stands in for the sealed secret.
    token = stored_state(found).token
    if not schedule.is_nearly_expired(token, now):
        return vault.reveal(doc, found)
    still_valid = token is not None and token.is_valid(now)
    results = [
        _refresh_one(
            vault,
            found,
            now=now,
            reason=Reason.EXPIRING,
            rand=rand or random.random,
            http_client=http_client,
            clock=None,
            known=None,
            wait=0 if still_valid else None,
        )
    ]
    for result in results:
        kept = result.outcome.state.token
        if result.outcome.error is not None and (kept is None or not kept.is_valid(now)):
            raise result.outcome.error
    current = vault.read()
    entry = _same_entry(current, found)
    if entry is None:
        return None  # removed meanwhile (logout by another process)
    cred = vault.reveal(current, entry)
    # An expired token is never handed out: the index would refuse it anyway.
    if entry.refresh and (entry.expires_at is None or entry.expires_at <= now):
        return None
    return cred


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
