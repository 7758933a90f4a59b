"""Real agent processes: signals, systemd activation and readiness, hardening, locking."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from store.agent import client
from store.agent import protocol as p
from store.agent.hardening import harden_process, is_dumpable
from tests.store.agent.agentproc import agent_env, fake_agent_cmd, start, stop
from tests.store.agent.answers import get_pair
from tests.store.agent.fakes import PASSPHRASE

SVC, USER, SECRET = "https://pypi.example.com/simple/", "alice", "s3cret-alice"


def test_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    sock = tmp_path / "agent-run" / "agent.sock"
    proc = start(tmp_path)
    try:
        assert get_pair(SVC, USER, path=str(sock)) == (USER, SECRET)
        assert get_pair("https://other.example.com/", path=str(sock)) == ("__token__", "tok-123")
        assert (sock.stat().st_mode & 0o777) == 0o600
        assert (sock.parent.stat().st_mode & 0o777) == 0o700
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"]
    finally:
        assert stop(proc) == 0
    assert not sock.exists()
    assert get_pair(SVC, USER, path=str(sock)) is client.NOT_RUNNING


def test_refuses_a_runtime_dir_with_group_or_other_bits(tmp_path: Path) -> None:
    run = tmp_path / "agent-run"
    run.mkdir(mode=0o755)
    run.chmod(0o755)
    result = subprocess.run(
        fake_agent_cmd(run / "agent.sock"), env=agent_env(tmp_path), capture_output=True, timeout=30
    )
    assert result.returncode != 0
    assert b"group or other permissions" in result.stderr


def test_second_agent_on_the_same_socket_is_refused(tmp_path: Path) -> None:
    proc = start(tmp_path)
    try:
        result = subprocess.run(
            fake_agent_cmd(tmp_path / "agent-run" / "agent.sock"),
            env=agent_env(tmp_path),
            capture_output=True,
            timeout=30,
        )
        assert result.returncode != 0 and b"already listening" in result.stderr
    finally:
        stop(proc)


def test_sighup_reloads_and_keeps_serving(tmp_path: Path) -> None:
    sock = str(tmp_path / "agent-run" / "agent.sock")
    proc = start(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGHUP)
        for _ in range(3):
            assert get_pair(SVC, USER, path=sock) == (USER, SECRET)
        assert proc.poll() is None
    finally:
        stop(proc)


def test_hardening_makes_the_process_undumpable() -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            before = is_dumpable()
            harden_process()
            code = 0 if before and not is_dumpable() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_notify_socket_gets_ready_and_stopping(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(20)
    try:
        env = agent_env(tmp_path, NOTIFY_SOCKET=str(notify_path))
        proc = start(tmp_path, env=env)
        try:
            ready = listener.recv(4096).decode()
            assert "READY=1" in ready.splitlines()
            assert f"MAINPID={proc.pid}" in ready
        finally:
            assert stop(proc) == 0
        assert "STOPPING=1" in listener.recv(4096).decode().splitlines()
    finally:
        listener.close()


@pytest.mark.skipif(not shutil.which("systemd-socket-activate"), reason="needs systemd")
def test_socket_activation_with_systemd_socket_activate(tmp_path: Path) -> None:
    run = tmp_path / "agent-run"
    run.mkdir(mode=0o700)
    sock = run / "agent.sock"
    # The agent is only started when the first client connects; its own --socket is unused.
    proc = subprocess.Popen(
        [
            "systemd-socket-activate",
            "-l",
            str(sock),
            *fake_agent_cmd(tmp_path / "unused" / "agent.sock"),
        ],
        env=agent_env(tmp_path),
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert get_pair(SVC, USER, path=str(sock), timeout=20) == (USER, SECRET)
        assert get_pair(SVC, USER, path=str(sock)) == (USER, SECRET)
        assert not (tmp_path / "unused").exists()
    finally:
        stop(proc)


def test_passphrase_unlock_idle_timeout_and_lock(tmp_path: Path) -> None:
    sock = str(tmp_path / "agent-run" / "agent.sock")
    proc = start(tmp_path, "--passphrase", "--idle", "0.5")
    try:
        assert get_pair(SVC, USER, path=sock) is client.LOCKED  # quickly
        assert client.request(p.Status(), path=sock).data["locked"] is True
        assert client.request(p.Unlock("wrong"), path=sock).status == p.FAILED
        assert client.request(p.Unlock(PASSPHRASE), path=sock).ok
        assert get_pair(SVC, USER, path=sock) == (USER, SECRET)
        deadline = time.monotonic() + 20
        while client.request(p.Status(), path=sock).data["locked"] is False:
            assert time.monotonic() < deadline, "idle time-out never locked the store"
            time.sleep(0.1)
        assert get_pair(SVC, USER, path=sock) is client.LOCKED
        assert client.request(p.Unlock(PASSPHRASE), path=sock).ok
        assert client.request(p.Lock(), path=sock).ok
        assert get_pair(SVC, USER, path=sock) is client.LOCKED
    finally:
        stop(proc)


def test_sigkill_under_load_clients_fall_back_and_a_restart_serves(tmp_path: Path) -> None:
    sock = str(tmp_path / "agent-run" / "agent.sock")
    proc = start(tmp_path)
    results: list[object] = []
    stop_flag = threading.Event()

    def hammer() -> None:
        while not stop_flag.is_set():
            results.append(get_pair(SVC, USER, timeout=2.0, path=sock))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        while len(results) < 200:
            time.sleep(0.01)
        stop(proc, signal.SIGKILL)
        seen = len(results)
        while len(results) < seen + 50:  # clients keep going, now without an agent
            time.sleep(0.01)
    finally:
        stop_flag.set()
        for t in threads:
            t.join(30)
    assert set(map(repr, results)) <= {repr((USER, SECRET)), repr(client.NOT_RUNNING)}
    assert results[-1] is client.NOT_RUNNING
    assert Path(sock).exists()  # the stale socket a SIGKILL leaves behind
    proc = start(tmp_path)
    try:
        assert get_pair(SVC, USER, path=sock) == (USER, SECRET)
    finally:
        stop(proc)


def test_out_of_descriptors_the_agent_rests_logs_once_and_keeps_serving(tmp_path: Path) -> None:
    # RLIMIT_NOFILE low enough that a crowd of silent clients exhausts it: accept() fails
    # with EMFILE while the listener stays readable. The agent must not spin (a line per
    # failure, 100 % CPU), and must answer a real lookup once descriptors free up.
    import resource

    sock = tmp_path / "agent-run" / "agent.sock"
    log = tmp_path / "agent.log"
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, hard))

    with log.open("wb") as out:
        proc = subprocess.Popen(
            fake_agent_cmd(sock, "--timeout", "3"),
            env=agent_env(tmp_path),
            stderr=out,
            preexec_fn=low_limit,
        )
    silent: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(60):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(str(sock))
            except (BlockingIOError, OSError):
                s.close()
                continue
            silent.append(s)
        time.sleep(2.0)  # the window in which the old loop logged a line per spin
        failures = log.read_text(errors="replace").count("accept failed")
        assert 1 <= failures <= 5, f"{failures} 'accept failed' lines"
        for s in silent:
            s.close()
        answer: object = None
        for _ in range(100):
            answer = get_pair(SVC, USER, path=str(sock), timeout=1.0)
            if answer == (USER, SECRET):
                break
            time.sleep(0.1)
        assert answer == (USER, SECRET)
        assert proc.poll() is None
    finally:
        for s in silent:
            s.close()
        assert stop(proc) == 0
