"""A private package index on 127.0.0.1 for the demo and the end-to-end tests.

pypiserver with an htpasswd file (every action authenticated), serving wheels written by
:func:`demo.wheels.write_wheel`. Only 127.0.0.1, a free port, and the server is stopped by
the one who started it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    from passlib.apache import HtpasswdFile

    ht = HtpasswdFile(str(path), new=True)
    for user, password in users.items():
        ht.set_password(user, password)
    ht.save()
    return path


@dataclass(frozen=True)
class Index:
    port: int
    packages: Path
    process: subprocess.Popen[bytes]

    @property
    def root(self) -> str:
        """The upload URL (twine, uv publish) and the credential's service."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"


@contextlib.contextmanager
def serve(packages: Path, htpasswd: Path, log: Path | None = None) -> Iterator[Index]:
    """pypiserver on a free 127.0.0.1 port, every action behind htpasswd; stopped on exit."""
    port = free_port()
    argv = [
        str(BIN / "pypi-server"),
        "run",
        "-p",
        str(port),
        "-i",
        "127.0.0.1",
        "-P",
        str(htpasswd),
        "-a",
        "update,download,list",
        "--disable-fallback",
        str(packages),
    ]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    try:
        _wait_ready(port, process)
        yield Index(port, packages, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pypi-server exited with {process.returncode} before serving")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (401 is an answer)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"pypi-server did not answer on 127.0.0.1:{port} within {timeout:.0f}s")
