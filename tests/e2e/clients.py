"""poetry, pdm, hatch and twine installed the way their users install them: each in its own
environment with ``uv tool install``, pinned to the versions the README was checked against.

uv's package cache lives under this venv (``.venv/client-tools/uv-cache``), so only the first
run downloads; each test then installs its own fresh copy from that cache in about a second,
into its own tmp dir, and may change it (``idx-auth setup poetry``) without touching another
test's. ``make clean`` removes the cache with the venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import BIN, run, tool

CACHE = Path(sys.prefix) / "client-tools"

# How this machine reaches PyPI (a company CA, a proxy), read before the tests' fixtures scrub
# the environment: installing a tool, and poetry and pdm asking PyPI, need it.
NETWORK = {
    name: os.environ[name]
    for name in (
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "PIP_CERT",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
        "https_proxy",
        "http_proxy",
        "no_proxy",
    )
    if name in os.environ
}

#: What a user types after ``uv tool install``. pdm 2.29.4 breaks on hishel 2.0 (released
#: after it: "module 'hishel' has no attribute 'SyncSqliteStorage'"), so its users pin hishel.
INSTALL = {
    "poetry": ["poetry==2.5.1"],
    "pdm": ["pdm==2.29.4", "--with", "hishel<2"],
    "hatch": ["hatch==1.18.2"],
    "twine": ["twine==7.0.0"],
    "keyring": ["keyring", "--with", "keyrings.alt"],
}


@dataclass(frozen=True)
class Tools:
    """A tool directory and bin directory of this test's own, as ``~/.local`` would hold."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def envs(self) -> Path:
        return self.root / "envs"

    def python(self, name: str) -> Path:
        return self.envs / name / "bin" / "python"

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with uv told where the tools go, and this bin dir first on PATH (then
        our venv's, which holds idx-auth, keyring and uv)."""
        e = {**NETWORK, **base}
        e.update(
            UV_TOOL_DIR=str(self.envs),
            UV_TOOL_BIN_DIR=str(self.bin),
            UV_CACHE_DIR=str(CACHE / "uv-cache"),
            UV_PYTHON=sys.executable,
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            NO_COLOR="1",
            PATH=os.pathsep.join([str(self.bin), str(BIN), base.get("PATH", os.defpath)]),
        )
        return e

    def install(self, name: str, env: dict[str, str], *extra: str) -> Path:
        argv = [tool("uv"), "tool", "install", "--quiet", *INSTALL[name], *extra]
        r = run(argv, env=self.env(env), timeout=600)
        assert r.returncode == 0, f"uv tool install {name} failed:\n{r.stderr}"
        return self.bin / name


def build_wheel(out: Path) -> Path:
    """keyring-idx's wheel, built from this checkout as ``make dist`` builds it."""
    argv = [tool("uv"), "build", "--wheel", "--out-dir", str(out), str(ROOT)]
    env = {**NETWORK, **os.environ, "UV_CACHE_DIR": str(CACHE / "uv-cache"), "UV_NO_PROGRESS": "1"}
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    [wheel] = out.glob("keyring_idx-*.whl")
    return wheel


ROOT = Path(__file__).resolve().parents[2]
