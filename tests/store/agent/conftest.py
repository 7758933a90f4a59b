from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.agent.core import AgentCore
from store.agent.runtime import bind_socket
from store.agent.server import Server, serve_in_thread
from tests.store.agent.fakes import MemoryBackend

ENTRIES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("https://h/", "alice"): ("basic", "pw-a"),
    ("https://t/", "__token__"): ("bearer", "tok"),
}


class Running:
    def __init__(self, server: Server, path: Path, backend: MemoryBackend) -> None:
        self.server = server
        self.path = path
        self.sock = str(path)
        self.backend = backend


@contextlib.contextmanager
def start_server(
    tmp_path: Path, backend: MemoryBackend | None = None, **options: float
) -> Iterator[Running]:
    backend = backend or MemoryBackend(ENTRIES)
    core = AgentCore(backend)
    core.start(0.0)
    path = tmp_path / "agent-run" / "agent.sock"
    server = Server(core, [bind_socket(path)], **options)  # type: ignore[arg-type]
    thread = serve_in_thread(server)
    try:
        yield Running(server, path, backend)
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Running]:
    with start_server(tmp_path, timeout=0.5) as running:
        yield running
