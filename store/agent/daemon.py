"""Run the agent: harden the process, get a socket, serve until SIGTERM.

The socket comes from systemd socket activation when LISTEN_FDS says so, else it is bound in
the runtime directory (0700) as ``agent.sock`` (0600) and removed again on exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from pathlib import Path

from store.agent import systemd
from store.agent.core import AgentCore
from store.agent.hardening import harden_process
from store.agent.refresher import Refresher, RefreshSource
from store.agent.runtime import bind_socket
from store.agent.server import Server
from store.agent.store_view import StoreView

log = logging.getLogger("idx-auth.agent")


def run_agent(
    store: StoreView,
    socket_path: Path,
    *,
    idle: float,
    maximum: float,
    timeout: float = 2.0,
) -> int:
    harden_process()
    listeners = systemd.listen_sockets()
    owned: Path | None = None
    if not listeners:
        listeners = [bind_socket(socket_path)]
        owned = socket_path
    refresher = _refresher(store)
    core = AgentCore(store, idle=idle, maximum=maximum, refresher=refresher)
    core.start(time.monotonic())
    if core.last_error:
        log.warning("store not unlocked at start: %s", core.last_error)
    server = Server(core, listeners, timeout=timeout)
    server.install_signal_handlers()

    def reloaded() -> None:
        if refresher is not None:
            refresher.poke()
        systemd.notify("READY=1\nSTATUS=reloaded")

    server.on_reload = reloaded
    if refresher is not None:
        refresher.start()
    where = owned or ", ".join(_name(s) for s in listeners)
    state = "locked" if not store.unlocked else "unlocked"
    log.info("agent %d serving %s on %s (%s)", os.getpid(), store.store_path, where, state)
    systemd.notify(f"READY=1\nSTATUS=serving {store.store_path} ({state})\nMAINPID={os.getpid()}")
    try:
        server.serve_forever()
    finally:
        systemd.notify("STOPPING=1")
        if refresher is not None:
            refresher.stop()
        store.lock()
        if owned is not None:
            with contextlib.suppress(FileNotFoundError):
                owned.unlink()
        for listener in listeners:
            listener.close()
        log.info("agent %d stopped", os.getpid())
    return 0


def _refresher(store: StoreView) -> Refresher | None:
    """A refresh thread over the real store (fakes in tests have none)."""
    if not isinstance(store, RefreshSource):
        return None
    return Refresher(store)


def _name(sock: socket.socket) -> str:
    try:
        return str(sock.getsockname())
    except OSError:
        return "activation socket"
