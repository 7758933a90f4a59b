"""The agent's refresh thread: tokens are renewed ahead of expiry, off the lookup path.

One thread sleeps until the earliest planned attempt (at most :data:`RESCAN` seconds, so entries
added or removed by other processes, clock jumps and suspends are noticed), reconciles its
in-memory states with the store (:func:`store.refresh.roster.reconcile`) and runs the attempts
that are due through :func:`store.refresh.entries.refresh_entries`, under the store lock. The
socket loop never waits for it: it answers lookups from the store snapshot, which holds the
current token until a refresh has written a valid successor.

``refresh_now`` (the ``refresh`` request) and ``for_lookup`` (a lookup that found its token
expired) run on the server's worker thread; one mutex makes every refresh in the agent take
turns, and the store lock makes it take turns with other processes.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from store.errors import KeyUnavailableError, StoreError
from store.model import Entry, entry_key
from store.refresh import entries, roster
from store.refresh.entries import EntryRefresh
from store.refresh.schedule import RandomSource, Reason, failed, prime
from store.refresh.state import RefreshState

if TYPE_CHECKING:
    from store.vault import Vault

log = logging.getLogger("idx-auth.agent")

RESCAN = 1.0  # seconds: the longest the thread sleeps without looking at the store
MIN_WAIT = 0.01  # never spin, whatever the plan says
LOOKUP_WAIT = 5.0  # how long a lookup waits for a refresh already under way
Key = roster.Key
Wall = Callable[[], datetime]


@runtime_checkable
class RefreshSource(Protocol):
    """The store as the refresher sees it (implemented by CachedStore)."""

    def refresh_view(self) -> tuple[Vault, dict[Key, RefreshState]] | None:
        """The unlocked vault and the stored state of every entry with a provider (placeholder
        secrets), after picking up other processes' writes; None while locked."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Refresher:
    def __init__(
        self,
        source: RefreshSource,
        *,
        rand: RandomSource | None = None,
        wall: Wall = _utcnow,
        rescan: float = RESCAN,
    ) -> None:
        self.source = source
        self.rand = rand or random.Random().random
        self.wall = wall
        self.rescan = rescan
        self._known: dict[Key, RefreshState] = {}
        self._cond = threading.Condition()
        self._poked = False
        self._stopping = False
        self._run = threading.Lock()  # one refresh at a time within the agent
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="idx-auth-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def poke(self) -> None:
        """Look at the store now (after an unlock, a login through the agent)."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    # --- what the rest of the agent reads -------------------------------------------------------

    def states(self) -> dict[Key, RefreshState]:
        with self._cond:
            return dict(self._known)

    def known(self, key: Key) -> RefreshState | None:
        with self._cond:
            return self._known.get(key)

    # --- the thread ------------------------------------------------------------------------------

    def _loop(self) -> None:
        complaint: str | None = None
        while True:
            with self._cond:
                if self._stopping:
                    return
            try:
                wake = self.step()
                complaint = None
            except Exception as exc:
                # A store that cannot be read now may be readable at the next scan; say so
                # once per distinct problem, not once a second.
                wake = None
                if repr(exc) != complaint:
                    # Our own errors are written to be shown; a foreign one's text might quote
                    # a response or a setting, so only its type is logged.
                    detail = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
                    log.error("token refresh round failed: %s", detail)
                complaint = repr(exc)
            wait = self.rescan
            if wake is not None:
                wait = min(wait, max(MIN_WAIT, (wake - self.wall()).total_seconds()))
            with self._cond:
                if not self._poked and not self._stopping:
                    self._cond.wait(wait)
                self._poked = False

    def step(self) -> datetime | None:
        """Reconcile with the store and run the attempts that are due; the next planned one."""
        with self._run:
            view = self._view()
            if view is None:
                return None
            vault, _ = view
            for key in roster.due(self.states(), self.wall()):
                self._attempt(vault, Reason.SCHEDULED, _is(key))
            return roster.next_wake(self.states())

    # --- on request --------------------------------------------------------------------------

    def refresh_now(self, service: str | None, username: str | None) -> list[EntryRefresh]:
        """Refresh now every entry with a provider, or those of ``service`` (a stored service
        key) and ``username``. KeyUnavailableError while locked."""

        def matches(entry: Entry) -> bool:
            return (service is None or entry.service == service) and (
                username is None or entry.username == username
            )

        with self._run:
            view = self._view()
            if view is None:
                raise KeyUnavailableError("the credential store is locked; run `idx-auth unlock`")
            results = self._attempt(view[0], Reason.FORCE, matches)
        self.poke()  # the plan changed: let the thread sleep to the new earliest attempt
        return results

    def for_lookup(self, key: Key) -> bool:
        """Refresh ``key`` if it is still expired or nearly so, for a lookup that found it so;
        waits at most LOOKUP_WAIT for a refresh already under way. False if it could not run."""
        if not self._run.acquire(timeout=LOOKUP_WAIT):
            return False
        try:
            view = self._view()
            if view is None:
                return False
            self._attempt(view[0], Reason.EXPIRING, _is(key))
            return True
        finally:
            self._run.release()

    # --- inside the mutex ----------------------------------------------------------------------

    def _view(self) -> tuple[Vault, dict[Key, RefreshState]] | None:
        view = self.source.refresh_view()
        if view is None:
            return None  # locked: plans are kept, nothing runs until unlocked
        merged = roster.reconcile(self.states(), view[1], self.wall(), self.rand)
        with self._cond:
            self._known = merged
        return view

    def _attempt(
        self, vault: Vault, reason: Reason, matches: Callable[[Entry], bool]
    ) -> list[EntryRefresh]:
        results = entries.refresh_entries(
            vault,
            now=self.wall(),
            reason=reason,
            rand=self.rand,
            matches=lambda e: not e.plain and matches(e),
            clock=self.wall,
            known=self.states(),
        )
        after = self.wall()
        with self._cond:
            for result in results:
                key = (result.service, result.username)
                state = self._next_state(result, self._known.get(key), after)
                if state is not None:
                    self._known[key] = roster.without_secret(state)
        for result in results:
            if result.outcome.error is not None:
                log.warning("refreshing %s failed: %s", result.display, result.outcome.error)
            elif result.outcome.refreshed:
                log.info("refreshed %s", result.display)
        return results

    def _next_state(
        self, result: EntryRefresh, mine: RefreshState | None, now: datetime
    ) -> RefreshState | None:
        outcome = result.outcome
        if outcome.attempted:
            return outcome.state
        if mine is None:
            return None
        if outcome.error is not None:
            # Settings we cannot use: nothing was written, so back off here or spin.
            return failed(mine, str(outcome.error), now, self.rand)
        # Not attempted: another process refreshed meanwhile; plan from what it wrote.
        return prime(replace(outcome.state, last_attempt=None, next_attempt=None), now, self.rand)


def _is(key: Key) -> Callable[[Entry], bool]:
    return lambda entry: entry_key(entry) == key
