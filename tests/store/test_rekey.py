"""rekey is atomic with respect to lookups: a reader finds the old key or the new one, never a
half state, and a crash at any point of a rekey loses neither."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import files
from store.dirs import Dirs
from store.vault import Vault
from tests.store.reading import read_credential

ROOT = Path(__file__).resolve().parents[2]

SERVICES = {f"https://h{i}.example/": f"secret-{i}" for i in range(4)}

LOOKUPS = """
import sys, traceback
from pathlib import Path
from store.access import get_credential
stop = Path(sys.argv[1])
services = {f"https://h{i}.example/": f"secret-{i}" for i in range(4)}
done = failed = 0
while not stop.exists() or done < 20:
    for url, secret in services.items():
        try:
            found = get_credential(url, "u", use_agent=False)  # a fresh vault each time
            ok = found is not None and found.secret == secret
        except Exception:
            traceback.print_exc()
            ok = False
        done += 1
        failed += not ok
print(done, failed)
"""

REKEYS = """
import sys
from store.vault import Vault
for _ in range(int(sys.argv[1])):
    Vault().rekey()
print("ok")
"""


def test_lookups_racing_rekeys_never_fail(dirs: Dirs, tmp_path: Path) -> None:
    v = Vault(dirs)
    for url, secret in SERVICES.items():
        v.login(url, "u", secret)
    stop = tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def spawn(code: str, arg: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", code, arg],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    readers = [spawn(LOOKUPS, str(stop)) for _ in range(2)]
    rekeyers = [spawn(REKEYS, "25") for _ in range(2)]
    try:
        for proc in rekeyers:
            out, err = proc.communicate(timeout=300)
            assert (proc.returncode, out.strip()) == (0, "ok"), err
    finally:
        stop.touch()
    for proc in readers:
        out, err = proc.communicate(timeout=300)
        done, failed = map(int, out.split())
        assert proc.returncode == 0 and failed == 0, err[-2000:]
        assert done >= 20
    # All rekeys done: one key left, every secret opens.
    assert len(dirs.key_file.read_text().splitlines()) == 1
    fresh = Vault(dirs)
    for url, secret in SERVICES.items():
        found = read_credential(fresh, url, "u")
        assert found is not None and found.secret == secret


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs (BaseException passes every
    `except Exception`)."""


def crash_points() -> Iterator[tuple[int, str]]:
    # rekey replaces three files (key file, store, key file) and writes one record; crash
    # before or after each replacement.
    for n in range(5):
        for when in ("before", "after"):
            yield n, when


@pytest.mark.parametrize(("n", "when"), list(crash_points()))
@pytest.mark.parametrize("source", ["file", "passphrase"])
def test_a_crash_at_any_point_of_a_rekey_loses_nothing(
    dirs: Dirs, monkeypatch: pytest.MonkeyPatch, n: int, when: str, source: str
) -> None:
    env = {"IDX_AUTH_KEY_SOURCE": "file"}

    def phrase(confirm: bool) -> str:
        return "correct horse"

    def vault() -> Vault:
        return Vault(dirs, passphrase=phrase, env=env)

    v = vault()
    for url, secret in SERVICES.items():
        v.login(url, "u", secret)
    v.login("my app", "u", "plain-secret", plain=True)
    if source == "passphrase":
        vault().rekey("passphrase")
    real = files.atomic_write
    calls = {"n": 0}

    def crashing(path: Path, data: bytes, *, ours: bool = True) -> None:
        if calls["n"] == n and when == "before":
            raise Crash
        real(path, data, ours=ours)
        if calls["n"] == n and when == "after":
            raise Crash
        calls["n"] += 1

    monkeypatch.setattr(files, "atomic_write", crashing)
    with contextlib.suppress(Crash):
        vault().rekey("file" if source == "passphrase" else None)
    monkeypatch.setattr(files, "atomic_write", real)

    def check() -> None:
        fresh = vault()
        for url, secret in SERVICES.items():
            found = read_credential(fresh, url, "u")
            assert found is not None and found.secret == secret
        doc = fresh.read()
        plain = doc.find("my app", "u", plain=True)
        assert plain is not None and fresh.reveal(doc, plain).secret == "plain-secret"

    check()
    vault().login("https://after.example/", "u", "after")  # writes still work
    check()
    vault().rekey("file")  # and a later rekey finishes the job
    check()
    assert len(dirs.key_file.read_text().splitlines()) == 1
