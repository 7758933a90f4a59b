"""The agent's request handling, free of sockets: a request and the time in, a reply out.

The server answers fast ops on its event loop with :meth:`AgentCore.try_fast` and hands the
rest to a worker thread, which calls :meth:`AgentCore.handle`: slow ops (:func:`is_slow`), and
lookups whose token is expired or nearly so and must be refreshed first. :meth:`AgentCore.tick`
runs between events so an idle passphrase store locks itself on time.

With a :class:`~store.agent.refresher.Refresher`, tokens are refreshed ahead of expiry on its own
thread; a lookup never gets an expired token (see :func:`store.refresh.roster.on_lookup`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from store.agent import protocol as p
from store.agent import timer
from store.agent.store_view import Found, StoreView
from store.credential import Ambiguous
from store.errors import InvalidServiceError, KeyUnavailableError, NotFoundError, StoreError
from store.listing import EntryInfo
from store.validation import InvalidEntryError

if TYPE_CHECKING:
    from store.agent.refresher import Refresher

_SLOW_OPS = frozenset({"login", "logout", "unlock", "refresh"})


def is_slow(request: p.Request) -> bool:
    """Ops that may take a lock, fsync or run a KDF: kept off the loop that answers lookups."""
    return request.op in _SLOW_OPS


class AgentCore:
    def __init__(
        self,
        store: StoreView,
        *,
        idle: float = timer.DEFAULT_IDLE,
        maximum: float = timer.DEFAULT_MAX,
        refresher: Refresher | None = None,
    ) -> None:
        self.store = store
        self.refresher = refresher
        self.idle = idle
        self.maximum = maximum
        self.last_error: str | None = None
        self._timer: timer.UnlockTimer | None = None
        self._mutex = threading.Lock()  # guards _timer and last_error across the two threads

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Unlock at start when no passphrase is needed (key file stores)."""
        if self.store.needs_passphrase:
            return
        try:
            self.store.unlock(None)
        except StoreError as exc:
            # Keep serving: status explains, and a later unlock or SIGHUP can recover.
            self.last_error = str(exc)

    def reload(self, now: float) -> None:
        """SIGHUP: re-read a key-file store's key (after a rekey); passphrase stores keep theirs."""
        if self.store.needs_passphrase:
            return
        self.store.lock()
        with self._mutex:
            self.last_error = None
        self.start(now)

    def tick(self, now: float) -> float | None:
        """Lock an idle passphrase store; the time of the next deadline, or None."""
        with self._mutex:
            current = self._timer
            if current is None:
                return None
            if current.expired(now):
                self._timer = None
            else:
                return current.expires_at()
        self.store.lock()
        return None

    # --- requests ----------------------------------------------------------------------------

    def serves(self, store: str) -> bool:
        """Whether ``store`` (a client's store file) is the one this agent serves."""
        if store == self.store.store_path:
            return True
        try:
            return os.path.realpath(store) == os.path.realpath(self.store.store_path)
        except (OSError, ValueError):
            return False

    def try_fast(self, request: p.Request, now: float) -> p.Reply | None:
        """The reply if it can be given without blocking (on the event loop); None when the
        request must go to the worker thread (:meth:`handle`)."""
        if is_slow(request):
            return None
        return self._guarded(request, now, may_block=False)

    def handle(self, request: p.Request, now: float) -> p.Reply:
        reply = self._guarded(request, now, may_block=True)
        assert reply is not None  # only a non-blocking call defers
        return reply

    def _guarded(self, request: p.Request, now: float, *, may_block: bool) -> p.Reply | None:
        try:
            return self._dispatch(request, now, may_block)
        except NotFoundError as exc:
            return p.reply_error(p.NOT_FOUND, str(exc))
        except KeyUnavailableError as exc:
            return p.reply_error(p.LOCKED if not self.store.unlocked else p.FAILED, str(exc))
        except (InvalidServiceError, InvalidEntryError) as exc:
            return p.reply_error(p.INVALID, str(exc))
        except StoreError as exc:
            return p.reply_error(p.FAILED, str(exc))

    def _dispatch(self, request: p.Request, now: float, may_block: bool) -> p.Reply | None:
        if isinstance(request, p.Status):
            return p.reply_ok(**self.status(now, request.offset))
        if isinstance(request, p.Lock):
            with self._mutex:
                self._timer = None
            self.store.lock()
            return p.reply_ok(locked=True)
        if isinstance(request, p.Unlock):
            return self._unlock(request, now)
        if not self._in_use(now):
            return p.reply_error(p.LOCKED, "the credential store is locked; run `idx-auth unlock`")
        if isinstance(request, p.Get):
            found = self._get(request, may_block)
            if found is _DEFER:
                return None
            if isinstance(found, Ambiguous):
                # The one place the value becomes a reply (store.agent.client.get reads it
                # back): the usernames let the caller say which ones to choose from.
                data = {"service": found.service, "usernames": list(found.usernames)}
                return p.Reply(p.AMBIGUOUS, data, found.message)
            if not isinstance(found, Found):
                return p.reply_error(p.NOT_FOUND, "no matching credential")
            return p.reply_ok(
                service=found.service,
                username=found.username,
                scheme=found.scheme,
                secret=found.secret,
            )
        if isinstance(request, p.ListEntries):
            listed = self.store.entries()
            entries, after = _page(listed, request.offset, lambda e: e)
            return p.reply_ok(entries=entries, entry_count=len(listed), next=after)
        if isinstance(request, p.Login):
            self.store.login(request.service, request.username, request.scheme, request.secret)
            return p.reply_ok()
        if isinstance(request, p.Refresh):
            return self._refresh(request)
        if isinstance(request, p.Logout):
            if self.store.logout(request.service, request.username):
                return p.reply_ok()
            return p.reply_error(p.NOT_FOUND, "No matching entry found")
        return p.reply_error(p.UNSUPPORTED, f"unknown op {request.op!r}")

    def _get(self, request: p.Get, may_block: bool) -> Found | Ambiguous | object | None:
        found = self.store.get(request.service, request.username)
        if not isinstance(found, Found) or not found.refreshable or self.refresher is None:
            return found
        from store.refresh import roster
        from store.refresh.token import Token

        key = (found.service, found.username)
        now = self.refresher.wall()
        token = None
        if found.expires_at is not None:
            token = Token(roster.PLACEHOLDER, found.expires_at, found.issued_at)
        action = roster.on_lookup(token, self.refresher.known(key), now)
        if action is roster.Action.SERVE:
            return found
        if action is roster.Action.NOTHING:
            return None
        if not may_block:
            return _DEFER
        self.refresher.for_lookup(key)
        found = self.store.get(request.service, request.username)
        if (
            not isinstance(found, Found)
            or found.expires_at is None
            or found.expires_at <= self.refresher.wall()
        ):
            return None  # never an expired token: the index would refuse it anyway
        return found

    def _refresh(self, request: p.Refresh) -> p.Reply:
        if self.refresher is None:
            return p.reply_error(p.UNSUPPORTED, "token refresh is not running in this agent")
        from store import service

        key = None
        if request.service is not None:
            key = service.parse_login_service(request.service).service
        results = self.refresher.refresh_now(key, request.username)
        return p.reply_ok(results=[r.describe() for r in results])

    def _in_use(self, now: float) -> bool:
        """Whether the store is unlocked, resetting the idle time-out on the way."""
        with self._mutex:
            current = self._timer
            if current is not None:
                if current.expired(now):
                    self._timer = None
                else:
                    self._timer = current.touched(now)
                    return self.store.unlocked
        if current is not None:
            self.store.lock()
            return False
        return self.store.unlocked

    def _unlock(self, request: p.Unlock, now: float) -> p.Reply:
        needs = self.store.needs_passphrase
        if needs and not request.passphrase:
            return p.reply_error(p.INVALID, "this store needs a passphrase to unlock")
        try:
            self.store.unlock(request.passphrase if needs else None)
        except KeyUnavailableError as exc:
            return p.reply_error(p.FAILED, str(exc))
        with self._mutex:
            self.last_error = None
            self._timer = timer.start(now, self.idle, self.maximum) if needs else None
        if self.refresher is not None:
            self.refresher.poke()  # refreshes that fell due while locked run now
        return p.reply_ok(locked=False)

    def status(self, now: float, offset: int = 0) -> dict[str, Any]:
        """The agent's state and the page of its entries from ``offset`` (``next``: where the
        next page starts, None after the last)."""
        with self._mutex:
            current = self._timer
            error = self.last_error
        locked = not self.store.unlocked or (current is not None and current.expired(now))
        entries: list[dict[str, Any]] | None
        count: int | None = None
        after: int | None = None
        try:
            listed = self.store.entries()
            count = len(listed)
            entries, after = _page(listed, offset, self._with_plan)
        except StoreError:
            entries = None
        return {
            "pid": os.getpid(),
            "protocol": p.VERSION,
            "locked": locked,
            "needs_passphrase": self.store.needs_passphrase,
            "store": self.store.store_path,
            "entry_count": count,
            "entries": entries,
            "next": after,
            "locks_in": None if current is None or locked else round(current.expires_at() - now, 1),
            "last_error": error,
            "refreshing": self.refresher is not None,
        }

    def _with_plan(self, info: EntryInfo) -> EntryInfo:
        """``info`` with the refresh thread's plan for it, which only memory holds."""
        if self.refresher is None or info.refresh is None:
            return info
        state = self.refresher.known((info.service, info.username))
        if state is None:
            return info
        return replace(
            info,
            next_refresh=_iso(state.next_attempt) if state.next_attempt else None,
            last_attempt=_iso(state.last_attempt) if state.last_attempt else None,
        )


def _valid(found: Found, now: datetime) -> bool:
    return found.expires_at is not None and found.expires_at > now


_DEFER = object()  # a lookup that must refresh first: hand it to the worker thread
# Entries per reply are bounded by size, so a status or list reply fits a frame (MAX_BODY) with
# room for the rest of the reply, whatever the store holds.
PAGE_BUDGET = p.MAX_BODY - 8 * 1024


def _page(
    listed: Sequence[EntryInfo], offset: int, shown: Callable[[EntryInfo], EntryInfo]
) -> tuple[list[dict[str, Any]], int | None]:
    items, after = p.page(
        listed,
        offset,
        lambda e: len(json.dumps(asdict(shown(e)), ensure_ascii=False)) + 1,
        PAGE_BUDGET,
    )
    return [asdict(shown(e)) for e in items], after


def _iso(moment: datetime) -> str:
    # Milliseconds: plans for tokens that live seconds would all look alike in whole seconds.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
