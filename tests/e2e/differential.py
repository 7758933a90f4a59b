"""Run real uv and ``idx-auth resolve`` side by side in one isolated environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
UV = BIN / "uv"
IDX_AUTH = BIN / "idx-auth"

Picks = dict[str, tuple[str, str]]  # name -> (version, index URL)


@dataclass
class Outcome:
    code: int
    picks: Picks
    stdout: str
    stderr: str
    doc: dict[str, object] | None = None


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """No user config, caches or credentials of the real user; loopback only."""
    for d in ("home", "config", "cache", "data", "idx-data", "idx-config", "idx-run"):
        (tmp / d).mkdir(exist_ok=True, mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_DIRS": str(tmp / "config"),
        "UV_CACHE_DIR": str(tmp / "cache" / "uv"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "IDX_AUTH_DATA_DIR": str(tmp / "idx-data"),
        "IDX_AUTH_CONFIG_DIR": str(tmp / "idx-config"),
        "IDX_AUTH_RUNTIME_DIR": str(tmp / "idx-run"),
        "NO_PROXY": "*",
    }
    env.update(extra)
    return env


def uv_compile(
    project: Path, env: dict[str, str], requirements: list[str] | None, *args: str
) -> Outcome:
    """``uv pip compile`` (requirements on stdin, or the project's pyproject.toml)."""
    source = ["pyproject.toml"] if requirements is None else ["-"]
    proc = subprocess.run(
        [
            str(UV),
            "pip",
            "compile",
            *source,
            "--no-deps",
            "--emit-index-annotation",
            "--no-header",
            *args,
        ],
        input="\n".join(requirements or []) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=120,
    )
    picks: Picks = {}
    current: tuple[str, str] | None = None
    for line in proc.stdout.splitlines():
        if "==" in line and not line.startswith(" "):
            name, version = line.split(";")[0].strip().split("==")
            current = (name.strip(), version.strip())
        elif line.strip().startswith("# from ") and current is not None:
            picks[current[0]] = (current[1], line.strip()[len("# from ") :].rstrip("/"))
    return Outcome(proc.returncode, picks, proc.stdout, proc.stderr)


def ours(project: Path, env: dict[str, str], requirements: list[str], *args: str) -> Outcome:
    proc = subprocess.run(
        [str(IDX_AUTH), "resolve", *requirements, "--project", str(project), "--json", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=120,
    )
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {"packages": []}
    picks: Picks = {p["name"]: (p["version"], p["index"].rstrip("/")) for p in doc["packages"]}
    return Outcome(proc.returncode, picks, proc.stdout, proc.stderr, doc)


def credential_of(outcome: Outcome, name: str) -> str:
    assert outcome.doc is not None
    packages = outcome.doc["packages"]
    assert isinstance(packages, list)
    for p in packages:
        if p["name"] == name:
            return str(p["credential"])
    raise AssertionError(f"{name} not in {outcome.stdout}")
