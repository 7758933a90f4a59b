"""`make demo` (python -m demo) runs end to end: the README's first command must work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_installs_the_private_package_through_keyring() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "+ idx-demo-private==1.0.0" in done.stdout + done.stderr
    assert "hello from a private index" in done.stdout
    assert "agent: running" in done.stdout + done.stderr
