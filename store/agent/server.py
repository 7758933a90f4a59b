"""The agent's socket server: one event loop for I/O, worker threads for slow ops.

Every connection carries one request and one reply. The loop never blocks on a client: sockets
are non-blocking, each connection has a deadline for sending its request and reading the reply,
requests are bounded by :data:`protocol.MAX_BODY`, and the peer's uid is checked (SO_PEERCRED)
before a single byte is read. Lookups are answered on the loop from memory; login, logout,
unlock and refresh (store lock, fsync, KDF) go to a worker thread so they never delay a lookup,
and so does a lookup that must refresh an expired token first.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import functools
import logging
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import FrameType

from store.agent import protocol as p
from store.agent.client import peer_uid
from store.agent.core import AgentCore

log = logging.getLogger("idx-auth.agent")

_RECV = p.HEADER_SIZE + p.MAX_BODY
_READING, _WORKING, _WRITING = 0, 1, 2
# accept() failing for lack of descriptors or memory leaves the listener readable: retrying at
# once spins the loop (and the log) at full speed. Such a listener rests, from a short pause
# doubling up to a second, and one line per LOG_INTERVAL says how often it happened.
_STARVED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_PAUSE_MIN, _PAUSE_MAX = 0.05, 1.0
LOG_INTERVAL = 60.0


@dataclass(slots=True, eq=False)
class _Conn:
    """One client connection of the agent's event loop."""

    sock: socket.socket
    deadline: float
    state: int = _READING
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytes = b""


@dataclass(slots=True)
class Stats:
    """Counts of what the agent's server did, for status and tests."""

    served: int = 0
    refused: int = 0
    bad: int = 0
    timed_out: int = 0
    evicted: int = 0


class Server:
    def __init__(
        self,
        core: AgentCore,
        listeners: list[socket.socket],
        *,
        timeout: float = 2.0,
        max_connections: int = 512,
        clock: Callable[[], float] = time.monotonic,
        uid: int | None = None,
    ) -> None:
        self.core = core
        self.listeners = listeners
        self.timeout = timeout
        self.max_connections = max_connections
        self.clock = clock
        self.uid = os.getuid() if uid is None else uid
        self.stats = Stats()
        self._sel = selectors.DefaultSelector()
        self._conns: dict[int, _Conn] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._done: collections.deque[tuple[_Conn, Future[p.Reply]]] = collections.deque()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idx-auth-worker")
        # Lookups that must refresh first wait on a provider: their own threads, so a slow
        # one holds up neither a login nor a lookup of another entry.
        self._lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="idx-auth-lookup")
        self._stopping = False
        self._reload = False
        self._next_sweep = 0.0
        self.on_reload: Callable[[], object] | None = None
        self._paused: dict[socket.socket, float] = {}  # listener -> when to listen again
        self._pause = _PAUSE_MIN
        self._accept_failures = 0  # since the last line logged about them
        self._accept_logged_at: float | None = None

    # --- control, safe from signal handlers and other threads ---------------------------------

    def stop(self) -> None:
        self._stopping = True
        self._wake()

    def request_reload(self) -> None:
        self._reload = True
        self._wake()

    def install_signal_handlers(self) -> None:
        def on_term(signum: int, frame: FrameType | None) -> None:
            self.stop()

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)

    def _wake(self) -> None:
        # A full buffer means a wake-up is already pending.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # --- the loop ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        for listener in self.listeners:
            listener.setblocking(False)
            self._sel.register(listener, selectors.EVENT_READ, None)
        self._sel.register(self._wake_r, selectors.EVENT_READ, self._wake_r)
        try:
            while not self._stopping:
                self._sel_once()
        finally:
            self._shutdown()

    def _sel_once(self) -> None:
        now = self.clock()
        lock_at = self.core.tick(now)
        wait = 1.0
        if self._conns:
            wait = min(wait, max(0.0, self._next_sweep - now))
        if lock_at is not None:
            wait = min(wait, max(0.0, lock_at - now))
        if self._paused:
            self._resume(now)
            if self._paused:
                wait = min(wait, max(0.0, min(self._paused.values()) - now))
        for key, mask in self._sel.select(wait):
            data = key.data
            if data is None:
                self._accept(key.fileobj)  # type: ignore[arg-type]
            elif data is self._wake_r:
                self._drain_wake()
            else:
                try:
                    if mask & selectors.EVENT_READ and data.state == _READING:
                        self._read(data)
                    elif mask & selectors.EVENT_WRITE and data.state == _WRITING:
                        self._write(data)
                except Exception:
                    log.exception("dropping a connection after an unexpected error")
                    self._close(data)
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(64):  # bounded so a flood of connects cannot starve the others
            try:
                sock, _addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._accept_failed(listener, exc)
                return
            self._pause = _PAUSE_MIN
            try:
                self._admit(sock)
            except Exception:
                log.exception("dropping a new connection after an unexpected error")
                sock.close()

    def _accept_failed(self, listener: socket.socket, exc: OSError) -> None:
        """Keep serving the connections we have; rest the listener when the process is out
        of descriptors or memory; say so at most once per LOG_INTERVAL."""
        now = self.clock()
        self._accept_failures += 1
        if exc.errno in _STARVED:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(listener)
            self._paused[listener] = now + self._pause
            self._pause = min(_PAUSE_MAX, self._pause * 2)
            # A descriptor held by a client that has not sent its request yet is one a real
            # lookup could use.
            self._evict(reading_only=True)
        if self._accept_logged_at is None or now - self._accept_logged_at >= LOG_INTERVAL:
            more = f" ({self._accept_failures} times in the last {LOG_INTERVAL:g} s)"
            log.warning(
                "accept failed: %s%s; new connections wait, open ones are served%s",
                exc.strerror,
                more if self._accept_failures > 1 else "",
                "; raise the open-files limit (LimitNOFILE=)" if exc.errno in _STARVED else "",
            )
            self._accept_logged_at = now
            self._accept_failures = 0

    def _resume(self, now: float) -> None:
        for listener, at in list(self._paused.items()):
            if at <= now:
                del self._paused[listener]
                self._sel.register(listener, selectors.EVENT_READ, None)

    def _admit(self, sock: socket.socket) -> None:
        uid = peer_uid(sock)
        if uid != self.uid:
            self.stats.refused += 1
            log.warning("refused a connection from uid %d (only uid %d may connect)", uid, self.uid)
            _try_send(sock, p.encode_reply(p.reply_error(p.FORBIDDEN, "permission denied")))
            sock.close()
            return
        sock.setblocking(False)
        if len(self._conns) >= self.max_connections:
            self._evict()
        conn = _Conn(sock, self.clock() + self.timeout)
        self._conns[sock.fileno()] = conn
        # Most clients send the request together with the connect: try it before polling.
        self._read(conn, first=True)

    def _read(self, conn: _Conn, first: bool = False) -> None:
        try:
            chunk = conn.sock.recv(_RECV - len(conn.inbox))
        except (BlockingIOError, InterruptedError):
            if first:
                self._sel.register(conn.sock, selectors.EVENT_READ, conn)
            return
        except OSError:
            self._close(conn, registered=not first)
            return
        if not chunk:  # closed or half-closed before a whole request
            self._close(conn, registered=not first)
            return
        conn.inbox += chunk
        try:
            size = p.frame_size(bytes(conn.inbox))
            if size is None or len(conn.inbox) < size:
                if first:
                    self._sel.register(conn.sock, selectors.EVENT_READ, conn)
                return
            request, store = p.decode_envelope(bytes(conn.inbox[:size]))
        except p.ProtocolError as exc:
            self.stats.bad += 1
            self._reply(conn, p.reply_error(exc.status, str(exc)), registered=not first)
            return
        if not first:
            self._sel.unregister(conn.sock)
        conn.inbox = bytearray()
        if store is not None and not self.core.serves(store):
            # The client's store is not ours: acting here would read or write the wrong file.
            self._reply(
                conn, p.reply_error(p.OTHER_STORE, self.core.store.store_path), registered=False
            )
            return
        reply = self._fast(request)
        if reply is None:
            conn.state = _WORKING
            pool = self._lookups if isinstance(request, p.Get) else self._worker
            future = pool.submit(self._handle, request)
            future.add_done_callback(functools.partial(self._finished, conn))
            return
        self._reply(conn, reply, registered=False)

    def _fast(self, request: p.Request) -> p.Reply | None:
        try:
            return self.core.try_fast(request, self.clock())
        except Exception as exc:
            return _internal(request, exc)

    def _handle(self, request: p.Request) -> p.Reply:
        try:
            return self.core.handle(request, self.clock())
        except Exception as exc:
            return _internal(request, exc)

    def _finished(self, conn: _Conn, future: Future[p.Reply]) -> None:
        self._done.append((conn, future))
        self._wake()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while self._done:
            conn, future = self._done.popleft()
            if conn.sock.fileno() < 0:
                continue
            conn.deadline = self.clock() + self.timeout
            self._reply(conn, future.result(), registered=False)
        if self._reload:
            self._reload = False
            log.info("reloading on SIGHUP")
            self.core.reload(self.clock())
            if self.on_reload is not None:
                self.on_reload()

    def _reply(self, conn: _Conn, reply: p.Reply, *, registered: bool) -> None:
        self.stats.served += 1
        data = p.encode_reply(reply)
        try:
            sent = conn.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(conn, registered=registered)
            return
        if sent == len(data):
            self._close(conn, registered=registered)
            return
        conn.outbox = data[sent:]
        conn.state = _WRITING
        if registered:
            self._sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
        else:
            self._sel.register(conn.sock, selectors.EVENT_WRITE, conn)

    def _write(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        conn.outbox = conn.outbox[sent:]
        if not conn.outbox:
            self._close(conn)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + min(0.1, self.timeout / 4)
        expired = [c for c in self._conns.values() if c.state != _WORKING and c.deadline <= now]
        for conn in expired:
            self.stats.timed_out += 1
            self._close(conn)

    def _evict(self, *, reading_only: bool = False) -> None:
        for conn in self._conns.values():
            if conn.state == _READING or (conn.state == _WRITING and not reading_only):
                self.stats.evicted += 1
                self._close(conn)
                return

    def _close(self, conn: _Conn, *, registered: bool = True) -> None:
        fd = conn.sock.fileno()
        if fd < 0:
            return
        self._conns.pop(fd, None)
        if registered:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(conn.sock)
        conn.sock.close()

    def _shutdown(self) -> None:
        self._paused.clear()
        for listener in self.listeners:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(listener)
        # Let in-flight writes (a login being saved) finish and answer before closing.
        self._worker.shutdown(wait=True)
        self._lookups.shutdown(wait=False, cancel_futures=True)
        self._drain_wake()
        for conn in list(self._conns.values()):
            self._close(conn)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()


def _internal(request: p.Request, exc: Exception) -> p.Reply:
    # Type only: a foreign exception's text could carry anything.
    log.exception("request %s failed", request.op)
    return p.reply_error(p.FAILED, f"internal agent error ({type(exc).__name__})")


def _try_send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.setblocking(False)
        sock.send(data)
    except OSError:
        pass
