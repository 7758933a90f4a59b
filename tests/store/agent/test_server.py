"""The server loop in a thread, driven by real Unix sockets."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from store.agent import client
from store.agent import protocol as p
from store.agent.core import AgentCore
from store.agent.server import Server
from tests.store.agent.answers import get_pair
from tests.store.agent.conftest import ENTRIES, Running, serve_in_thread, start_server
from tests.store.agent.fakes import MemoryStore


def raw(path: str, payload: bytes, *, shut: bool = False, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        if payload:
            sock.sendall(payload)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_get_with_and_without_username(agent: Running) -> None:
    assert get_pair("https://h/", "alice", path=agent.sock) == ("alice", "pw-a")
    assert get_pair("https://t/", path=agent.sock) == ("__token__", "tok")
    assert get_pair("https://nothing/", "x", path=agent.sock) is None


def test_no_agent_means_not_running(tmp_path: Path) -> None:
    assert get_pair("https://h/", "alice", path=str(tmp_path / "none.sock")) is client.NOT_RUNNING
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()  # a socket file nobody listens on: what a SIGKILLed agent leaves
    assert get_pair("https://h/", "alice", path=str(stale)) is client.NOT_RUNNING


def test_request_reports_status(agent: Running) -> None:
    reply = client.request(p.Status(), path=agent.sock)
    assert reply.ok and reply.data["entry_count"] == 2 and reply.data["locked"] is False


def test_junk_gets_an_error_and_others_keep_working(agent: Running) -> None:
    reply = p.decode_reply(raw(agent.sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert reply.status == p.INVALID
    body = b'{"op": "fly"}'
    assert p.decode_reply(raw(agent.sock, p.HEADER.pack(p.MAGIC, 1, len(body)) + body)).status == (
        p.UNSUPPORTED
    )
    assert p.decode_reply(raw(agent.sock, p.HEADER.pack(p.MAGIC, 1, 3) + b"\xff\x00{")).status == (
        p.INVALID
    )
    assert get_pair("https://h/", "alice", path=agent.sock) == ("alice", "pw-a")
    assert agent.server.stats.bad == 3


def test_oversized_request_is_refused_from_its_header(agent: Running) -> None:
    header = p.HEADER.pack(p.MAGIC, p.VERSION, 10 * p.MAX_BODY)
    reply = p.decode_reply(raw(agent.sock, header + b"x" * 1000))
    assert reply.status == p.INVALID and "exceeds" in reply.message


def test_other_protocol_version_is_unsupported(agent: Running) -> None:
    reply = p.decode_reply(raw(agent.sock, p.HEADER.pack(p.MAGIC, 9, 2) + b"{}"))
    assert reply.status == p.UNSUPPORTED


def test_half_open_client_is_closed(agent: Running) -> None:
    frame = p.encode_request(p.Get("https://h/", "alice"))
    assert raw(agent.sock, frame[:12], shut=True) == b""
    # A complete request followed by a half-close still gets its answer.
    assert p.decode_reply(raw(agent.sock, frame, shut=True)).data["secret"] == "pw-a"


def test_slow_and_silent_clients_neither_stall_others_nor_linger(agent: Running) -> None:
    frame = p.encode_request(p.Get("https://h/", "alice"))
    slow = []
    for i in range(40):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(agent.sock)
        s.sendall(frame[: i % 12])  # nothing, part of the header, part of the body
        slow.append(s)
    try:
        for _ in range(20):
            assert get_pair("https://h/", "alice", path=agent.sock) == ("alice", "pw-a")
        for s in slow:  # the server drops each at its deadline
            s.settimeout(10)
            assert s.recv(100) == b""
        assert agent.server.stats.timed_out >= 40
    finally:
        for s in slow:
            s.close()


def test_drip_feeding_client_is_cut_off_at_its_deadline(agent: Running) -> None:
    frame = p.encode_request(p.Get("https://h/", "alice"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(agent.sock)
        closed = False
        for byte in frame[:-1]:  # one byte every 0.1 s: 0.5 s total budget
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.1)
        if not closed:
            s.settimeout(5)
            assert s.recv(100) == b""
    assert agent.server.stats.timed_out >= 1


def test_connection_limit_evicts_the_oldest(tmp_path: Path) -> None:
    with start_server(tmp_path, timeout=30.0, max_connections=8) as running:
        idle = []
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(running.sock)
            idle.append(s)
        assert get_pair("https://h/", "alice", path=running.sock) == ("alice", "pw-a")
        assert running.server.stats.evicted >= 12
        for s in idle:
            s.close()


def test_many_concurrent_clients(agent: Running) -> None:
    errors: list[object] = []

    def worker(n: int) -> None:
        for i in range(50):
            svc, user = ("https://h/", "alice") if (n + i) % 2 else ("https://t/", None)
            got = get_pair(svc, user, path=agent.sock)
            if got not in (("alice", "pw-a"), ("__token__", "tok")):
                errors.append(got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


class BlockingLogin(MemoryStore):
    def __init__(self) -> None:
        super().__init__(ENTRIES)
        self.entered = threading.Event()
        self.release = threading.Event()

    def login(self, service: str, username: str | None, scheme: str, secret: str) -> None:
        self.entered.set()
        assert self.release.wait(10)
        super().login(service, username, scheme, secret)


def test_a_slow_write_does_not_delay_lookups(tmp_path: Path) -> None:
    backend = BlockingLogin()
    with start_server(tmp_path, backend) as running:
        result: list[p.Reply] = []
        writer = threading.Thread(
            target=lambda: result.append(
                client.request(
                    p.Login("https://n/", "c", "basic", "pw"), path=running.sock, timeout=10
                )
            )
        )
        writer.start()
        assert backend.entered.wait(10)
        assert get_pair("https://h/", "alice", path=running.sock) == ("alice", "pw-a")
        backend.release.set()
        writer.join(10)
        assert result[0].ok
        assert get_pair("https://n/", "c", path=running.sock) == ("c", "pw")


def _as_nobody_in_child(fn: object, args: Sequence[object]) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            code = fn(*args)  # type: ignore[operator]
        except BaseException as exc:
            os.write(2, f"child failed: {exc!r}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _nobody_client(path: str) -> int:
    """0 when refused: a FORBIDDEN reply, or a reset because the agent closed without reading."""
    try:
        answer = raw(path, p.encode_request(p.Get("https://h/", "alice")))
    except (ConnectionResetError, BrokenPipeError):
        return 0
    except OSError:
        return 3
    if b"pw-a" in answer:
        return 4
    return 0 if p.decode_reply(answer).status == p.FORBIDDEN else 2


def test_another_uid_is_refused_even_with_a_world_writable_socket() -> None:
    assert os.getuid() == 0, "runs as root to switch to uid 65534"
    public = Path(tempfile.mkdtemp(prefix="idx-agent-uid-"))
    try:
        public.chmod(0o777)
        path = public / "agent.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(16)
        path.chmod(0o777)
        core = AgentCore(MemoryStore(ENTRIES))
        core.start(0.0)
        server = Server(core, [listener])
        thread = serve_in_thread(server)
        try:
            assert _as_nobody_in_child(_nobody_client, [str(path)]) == 0
            assert server.stats.refused == 1
            assert get_pair("https://h/", "alice", path=str(path)) == ("alice", "pw-a")
        finally:
            server.stop()
            thread.join(10)
            listener.close()
    finally:
        for child in public.iterdir():
            child.unlink()
        public.rmdir()


def _nobody_listener(path: str, ready_w: int) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(path)
        s.listen(4)
        os.write(ready_w, b"x")
        conn, _ = s.accept()
        conn.sendall(p.encode_reply(p.reply_ok(username="evil", secret="planted")))
        conn.close()
    return 0


def test_client_refuses_an_agent_run_by_another_uid() -> None:
    public = Path(tempfile.mkdtemp(prefix="idx-agent-uid-"))
    ready_r, ready_w = os.pipe()
    try:
        public.chmod(0o777)
        path = str(public / "agent.sock")
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)
                code = _nobody_listener(path, ready_w)
            finally:
                os._exit(code)
        assert os.read(ready_r, 1) == b"x"
        assert get_pair("https://h/", "alice", path=path) is client.NOT_RUNNING
        os.waitpid(pid, 0)
    finally:
        os.close(ready_r)
        os.close(ready_w)
        for child in public.iterdir():
            child.unlink()
        public.rmdir()
