"""Nothing lost: concurrent writers and writers killed at random moments."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from store import codec
from store.dirs import Dirs
from store.vault import Vault
from tests.store.reading import read_credential

WRITER = """
import sys
from store.vault import Vault
v = Vault()
worker = sys.argv[1]
for i in range(int(sys.argv[2])):
    v.login(f"https://w{worker}.example/{i}", "user", f"secret-{worker}-{i}")
"""


def test_eight_processes_doing_25_logins_each_lose_nothing(dirs: Dirs) -> None:
    Vault(dirs).login("https://seed.example/", "seed", "seed")  # the key exists before the race
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), "25"], cwd=root, env=dict(os.environ)
        )
        for w in range(8)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    v = Vault(dirs)
    doc = v.read()
    assert len(doc.entries) == 1 + 8 * 25
    for w in range(8):
        for i in range(25):
            got = read_credential(v, f"https://w{w}.example/{i}", "user")
            assert got is not None and got.secret == f"secret-{w}-{i}"


def test_writer_killed_at_random_moments_never_leaves_a_torn_file(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login("https://seed.example/", "seed", "seed")
    rng = random.Random(1234)
    committed = 1
    for trial in range(300):
        pid = os.fork()
        if pid == 0:  # the child writes until it is killed
            try:
                child = Vault(dirs)
                for i in range(1000):
                    child.login(f"https://t{trial}.example/{i}", "u", "x" * 64)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        text = dirs.store_file.read_text()
        assert text.strip(), f"empty store after kill in trial {trial}"
        doc = codec.decode(text)  # raises on a torn file
        assert len(doc.entries) >= committed  # nothing committed earlier is lost
        committed = len(doc.entries)
    # Every entry still opens, and the next write cleans what killed writers left behind.
    reader = Vault(dirs)
    for entry in reader.read().entries:
        assert reader.reveal(reader.read(), entry).secret is not None
    reader.login("https://final.example/", "u", "x")
    assert not list(dirs.data.glob(".credentials.toml.*.tmp"))
