"""Cost of a lookup and of a login in stores of 1, 1,000 and 10,000 entries.

Side by side in one run: our encrypted store (in-process Vault calls, and the `idx-auth token`
command) against uv's plaintext store (`uv auth token` / `uv auth login` on the same entries).
Prints medians and the ratio ours/uv. Run: .venv/bin/python -m benchmarks.store
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from store import plaintext
from store.access import get_credential
from store.dirs import Dirs
from store.model import Credential, Document
from store.sealing import Sealer
from store.vault import Vault

SIZES = (1, 1_000, 10_000)
BIN = Path(sys.executable).parent


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def fill(vault: Vault, uv_dir: Path, n: int) -> str:
    """n entries in both stores; returns a URL that the last entry answers."""

    def change(doc: Document, sealer: Sealer) -> tuple[Document, None]:
        entries = tuple(
            sealer.entry(f"https://host{i}.example/api/pypi", "user", "basic", f"secret-{i}")
            for i in range(n)
        )
        return Document(doc.header, entries), None

    vault.update(change)
    uv_dir.mkdir(parents=True, exist_ok=True)
    creds = [
        Credential(f"https://host{i}.example/api/pypi", "user", "basic", f"s{i}") for i in range(n)
    ]
    (uv_dir / "credentials.toml").write_text(plaintext.encode(creds))
    return f"https://host{n - 1}.example/api/pypi/simple/pkg/"


def measure(n: int, root: Path) -> list[tuple[str, float, float | None]]:
    dirs = Dirs(root / "data", root / "config", root / "run")
    env = dict(
        os.environ,
        IDX_AUTH_DATA_DIR=str(dirs.data),
        IDX_AUTH_CONFIG_DIR=str(dirs.config),
        IDX_AUTH_RUNTIME_DIR=str(dirs.runtime),
        UV_CREDENTIALS_DIR=str(root / "uv"),
        UV_CACHE_DIR=str(root / "uv-cache"),
    )
    url = fill(Vault(dirs, env=env), root / "uv", n)
    repeat = 15 if n < 10_000 else 7
    fresh = Vault(dirs, env=env)  # in-process: read + parse + match + decrypt one secret
    counter = iter(range(10**9))

    def cli(argv: list[str], stdin: str | None = None) -> Callable[[], object]:
        return lambda: subprocess.run(
            argv, env=env, input=stdin, capture_output=True, text=True, check=True
        )

    ours, uv = str(BIN / "idx-auth"), str(BIN / "uv")
    return [
        (
            "lookup (in-process)",
            median_ms(
                lambda: get_credential(url, "user", dirs=dirs, vault=fresh, use_agent=False), repeat
            ),
            None,
        ),
        (
            "login (in-process)",
            median_ms(lambda: fresh.login(f"https://n{next(counter)}.example/", "u", "pw"), repeat),
            None,
        ),
        (
            "token command",
            median_ms(cli([ours, "token", url, "-u", "user"]), repeat),
            median_ms(cli([uv, "auth", "token", url, "-u", "user"]), repeat),
        ),
        (
            "login command",
            median_ms(cli([ours, "login", url, "-u", "x", "--password", "-"], "pw\n"), repeat),
            median_ms(
                cli([uv, "auth", "login", url, "-u", "x", "--password", "-"], "pw\n"), repeat
            ),
        ),
    ]


def main() -> None:
    print(f"{'entries':>8} {'what':<22} {'ours ms':>9} {'uv ms':>9} {'ratio':>7}")
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            for what, ours, uv in measure(n, Path(tmp)):
                peer = f"{uv:>9.1f} {ours / uv:>6.2f}x" if uv else ""
                print(f"{n:>8} {what:<22} {ours:>9.2f} {peer}")


if __name__ == "__main__":
    main()
