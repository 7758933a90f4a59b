"""The agent's request handling, free of sockets: a request and the time in, a reply out.

The server calls :meth:`AgentCore.handle` for each request -- fast ops on its event loop, slow
ones (:func:`is_slow`) on a worker thread -- and :meth:`AgentCore.tick` between events so an
idle passphrase store locks itself on time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict
from typing import Any

from store.agent import protocol as p
from store.agent import timer
from store.agent.backend import Backend
from store.errors import (
    AmbiguousCredentialError,
    InvalidServiceError,
    KeyUnavailableError,
    NotFoundError,
    StoreError,
)

_SLOW_OPS = frozenset({"login", "logout", "unlock", "refresh"})


def is_slow(request: p.Request) -> bool:
    """Ops that may take a lock, fsync or run a KDF: kept off the loop that answers lookups."""
    return request.op in _SLOW_OPS


class AgentCore:
    def __init__(
        self,
        backend: Backend,
        *,
        idle: float = timer.DEFAULT_IDLE,
        maximum: float = timer.DEFAULT_MAX,
    ) -> None:
        self.backend = backend
        self.idle = idle
        self.maximum = maximum
        self.last_error: str | None = None
        self._timer: timer.UnlockTimer | None = None
        self._mutex = threading.Lock()  # guards _timer and last_error across the two threads

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Unlock at start when no passphrase is needed (key file stores)."""
        if self.backend.needs_passphrase:
            return
        try:
            self.backend.unlock(None)
        except StoreError as exc:
            # Keep serving: status explains, and a later unlock or SIGHUP can recover.
            self.last_error = str(exc)

    def reload(self, now: float) -> None:
        """SIGHUP: re-read a key-file store's key (after a rekey); passphrase stores keep theirs."""
        if self.backend.needs_passphrase:
            return
        self.backend.lock()
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
        self.backend.lock()
        return None

    # --- requests ----------------------------------------------------------------------------

    def handle(self, request: p.Request, now: float) -> p.Reply:
        try:
            return self._dispatch(request, now)
        except AmbiguousCredentialError as exc:
            return p.reply_error(p.AMBIGUOUS, str(exc))
        except NotFoundError as exc:
            return p.reply_error(p.NOT_FOUND, str(exc))
        except KeyUnavailableError as exc:
            return p.reply_error(p.LOCKED if not self.backend.unlocked else p.FAILED, str(exc))
        except InvalidServiceError as exc:
            return p.reply_error(p.INVALID, str(exc))
        except StoreError as exc:
            return p.reply_error(p.FAILED, str(exc))

    def _dispatch(self, request: p.Request, now: float) -> p.Reply:
        if isinstance(request, p.Status):
            return p.reply_ok(**self.status(now))
        if isinstance(request, p.Lock):
            with self._mutex:
                self._timer = None
            self.backend.lock()
            return p.reply_ok(locked=True)
        if isinstance(request, p.Unlock):
            return self._unlock(request, now)
        if not self._in_use(now):
            return p.reply_error(p.LOCKED, "the credential store is locked; run `idx-auth unlock`")
        if isinstance(request, p.Get):
            found = self.backend.get(request.service, request.username)
            if found is None:
                return p.reply_error(p.NOT_FOUND, "no matching credential")
            return p.reply_ok(
                service=found.service,
                username=found.username,
                scheme=found.scheme,
                secret=found.secret,
            )
        if isinstance(request, p.ListEntries):
            return p.reply_ok(entries=[asdict(e) for e in self.backend.entries()])
        if isinstance(request, p.Login):
            self.backend.login(request.service, request.username, request.scheme, request.secret)
            return p.reply_ok()
        if isinstance(request, p.Logout):
            if self.backend.logout(request.service, request.username):
                return p.reply_ok()
            return p.reply_error(p.NOT_FOUND, "No matching entry found")
        # Refresh: token providers arrive with the token-refresh work.
        return p.reply_error(p.UNSUPPORTED, "token refresh is not available in this agent")

    def _in_use(self, now: float) -> bool:
        """Whether the store is unlocked, resetting the idle time-out on the way."""
        with self._mutex:
            current = self._timer
            if current is not None:
                if current.expired(now):
                    self._timer = None
                else:
                    self._timer = current.touched(now)
                    return self.backend.unlocked
        if current is not None:
            self.backend.lock()
            return False
        return self.backend.unlocked

    def _unlock(self, request: p.Unlock, now: float) -> p.Reply:
        needs = self.backend.needs_passphrase
        if needs and not request.passphrase:
            return p.reply_error(p.INVALID, "this store needs a passphrase to unlock")
        try:
            self.backend.unlock(request.passphrase if needs else None)
        except KeyUnavailableError as exc:
            return p.reply_error(p.FAILED, str(exc))
        with self._mutex:
            self.last_error = None
            self._timer = timer.start(now, self.idle, self.maximum) if needs else None
        return p.reply_ok(locked=False)

    def status(self, now: float) -> dict[str, Any]:
        with self._mutex:
            current = self._timer
            error = self.last_error
        locked = not self.backend.unlocked or (current is not None and current.expired(now))
        entries: list[dict[str, Any]] | None
        try:
            entries = [asdict(e) for e in self.backend.entries()]
        except StoreError:
            entries = None
        return {
            "pid": os.getpid(),
            "protocol": p.VERSION,
            "locked": locked,
            "needs_passphrase": self.backend.needs_passphrase,
            "store": self.backend.store_path,
            "entry_count": None if entries is None else len(entries),
            "entries": entries,
            "locks_in": None if current is None or locked else round(current.expires_at() - now, 1),
            "last_error": error,
        }
