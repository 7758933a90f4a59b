from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.agent.core import AgentCore
from store.agent.runtime import bind_socket
from store.agent.server import Server
from store.agent.store_view import StoreView
from tests.store.agent.fakes import MemoryStore

ENTRIES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("https://h/", "alice"): ("basic", "pw-a"),
    ("https://t/", "__token__"): ("bearer", "tok"),
}


def serve_in_thread(server: Server) -> threading.Thread:
    """The server's loop on a daemon thread."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


class Running:
    def __init__(self, server: Server, path: Path, store: StoreView) -> None:
        self.server = server
        self.path = path
        self.sock = str(path)
        self.store = store


@contextlib.contextmanager
def start_server(
    tmp_path: Path, store: StoreView | None = None, **options: float
) -> Iterator[Running]:
    store = store or MemoryStore(ENTRIES)
    core = AgentCore(store)
    core.start(0.0)
    path = tmp_path / "agent-run" / "agent.sock"
    server = Server(core, [bind_socket(path)], **options)  # type: ignore[arg-type]
    thread = serve_in_thread(server)
    try:
        yield Running(server, path, store)
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Running]:
    with start_server(tmp_path, timeout=0.5) as running:
        yield running
