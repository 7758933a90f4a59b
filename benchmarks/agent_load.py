"""Agent lookups under load: 1, 8, 32 and 128 concurrent clients against a real agent.

Runs `idx-auth agent` over a real encrypted store in a temp dir, then drives it with closed-loop
clients (each: connect, request, reply, close -- what the keyring backend does) spread over
processes, and prints lookups/s and p50/p99 latency per concurrency level. Targets: >= 5,000
lookups/s and p99 < 10 ms at 32 clients on 2 cores.

    python -m benchmarks.agent_load [--seconds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from store.agent import client
from store.agent import protocol as p
from store.dirs import resolve_dirs
from store.model import Credential
from store.vault import Vault

SVC = "https://pypi.example.com/api/pypi"


def _worker(sock: str, threads: int, seconds: float, out: mp.Queue[list[float]]) -> None:
    latencies: list[float] = []
    lock = threading.Lock()
    errors = 0

    def loop() -> None:
        nonlocal errors
        mine: list[float] = []
        end = time.perf_counter() + seconds
        while (start := time.perf_counter()) < end:
            got = client.get(SVC + "/simple/", "user7", path=sock)
            mine.append(time.perf_counter() - start)
            if not isinstance(got, Credential) or (got.username, got.secret) != (
                "user7",
                "secret-7",
            ):
                errors += 1
        with lock:
            latencies.extend(mine)

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        latencies.append(-1.0)  # flag wrong answers
    out.put(latencies)


def run_level(sock: str, clients: int, seconds: float) -> tuple[float, float, float, int]:
    procs = min(clients, int(os.environ.get("BENCH_PROCS", "16")))
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    queue: mp.Queue[list[float]] = mp.Queue()
    workers = [mp.Process(target=_worker, args=(sock, n, seconds, queue)) for n in per]
    for w in workers:
        w.start()
    samples: list[float] = []
    for _ in workers:
        samples.extend(queue.get())
    for w in workers:
        w.join()
    wrong = sum(1 for s in samples if s < 0)
    samples = sorted(s for s in samples if s >= 0)
    rate = len(samples) / seconds
    p50 = samples[len(samples) // 2] * 1000
    p99 = samples[int(len(samples) * 0.99)] * 1000
    return rate, p50, p99, wrong


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--levels", default="1,8,32,128")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = dict(os.environ)
        env.update(
            IDX_AUTH_DATA_DIR=str(base / "data"),
            IDX_AUTH_CONFIG_DIR=str(base / "config"),
            IDX_AUTH_RUNTIME_DIR=str(base / "run"),
        )
        env.pop("NOTIFY_SOCKET", None)
        dirs = resolve_dirs(env)
        vault = Vault(dirs, env=env)
        for i in range(20):
            vault.login(f"https://h{i}.example.com/", "u", f"pw{i}")
        for i in range(10):
            vault.login(SVC, f"user{i}", f"secret-{i}")
        agent = subprocess.Popen(
            [sys.executable, "-m", "keyring_idx.cli", "agent"], env=env, stderr=subprocess.DEVNULL
        )
        sock = str(dirs.socket)
        try:
            for _ in range(500):
                try:
                    client.request(p.Status(), path=sock)
                    break
                except client.AgentUnavailable:
                    time.sleep(0.02)
            print(f"agent pid {agent.pid}, {os.cpu_count()} cpus, {args.seconds:.0f} s per level")
            print(f"{'clients':>8} {'lookups/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
            for level in (int(x) for x in args.levels.split(",")):
                rate, p50, p99, wrong = run_level(sock, level, args.seconds)
                note = f"  ({wrong} workers saw wrong answers!)" if wrong else ""
                print(f"{level:>8} {rate:>10.0f} {p50:>8.2f} {p99:>8.2f}{note}")
        finally:
            agent.terminate()
            agent.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
