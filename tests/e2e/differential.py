"""Run real uv and ``idx-auth resolve`` side by side in one isolated environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
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
    return Outcome(proc.returncode, annotated_picks(proc.stdout), proc.stdout, proc.stderr)


def annotated_picks(stdout: str) -> Picks:
    """Name -> (version, index) from ``uv pip compile --emit-index-annotation`` output."""
    picks: Picks = {}
    current: tuple[str, str] | None = None
    for line in stdout.splitlines():
        if "==" in line and not line.startswith(" "):
            name, version = line.split(";")[0].strip().split("==")
            current = (name.strip(), version.strip())
        elif line.strip().startswith("# from ") and current is not None:
            picks[current[0]] = (current[1], line.strip()[len("# from ") :].rstrip("/"))
    return picks


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


def _popen(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: str | None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _finish(proc: subprocess.Popen[str], stdin: str | None) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(stdin, timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def lock_picks(lock_file: Path, project_root: Path) -> dict[str, list[tuple[str, str]]]:
    """uv.lock's packages: name -> [(version, registry)], a local registry as a file URL."""
    doc = tomllib.loads(lock_file.read_text())
    picks: dict[str, list[tuple[str, str]]] = {}
    for package in doc.get("package", []):
        registry = package.get("source", {}).get("registry")
        if registry is None:
            continue
        if "://" not in registry:
            registry = (project_root / registry).resolve().as_uri()
        picks.setdefault(package["name"], []).append((package["version"], registry.rstrip("/")))
    return picks


def compile_picks(stdout: str) -> Picks:
    picks: Picks = {}
    current: tuple[str, str] | None = None
    for line in stdout.splitlines():
        if "==" in line and not line.startswith(" "):
            name, version = line.split(";")[0].strip().split("==")
            current = (name.strip(), version.strip())
        elif line.strip().startswith("# from ") and current is not None:
            picks[current[0]] = (current[1], line.strip()[len("# from ") :].rstrip("/"))
    return picks


def side_by_side(
    mode: str,
    cwd: Path,
    root: Path,
    env: dict[str, str],
    requirements: list[str] | None,
    uv_args: list[str],
    our_args: list[str],
) -> tuple[Outcome, Outcome]:
    """The same question to the real uv and to ``idx-auth resolve``, run at the same time.

    ``mode`` "lock": ``uv lock`` in ``cwd`` (uv.lock read from the workspace ``root``) against
    our project model; "pip": ``uv pip compile -`` with ``requirements`` against ours given
    the same requirements (no project in ``cwd``, or ``--pip``)."""
    if mode == "lock":
        uv_argv = [str(UV), "lock", *uv_args]
        stdin = None
    else:
        uv_argv = [str(UV), "pip", "compile", "-", "--no-deps", "--emit-index-annotation"]
        uv_argv += ["--no-header", *uv_args]
        stdin = "\n".join(requirements or []) + "\n"
    mine_argv = [str(IDX_AUTH), "resolve", *(requirements or []), "--json", *our_args]
    uv_proc = _popen(uv_argv, env, cwd, stdin)
    mine_proc = _popen(mine_argv, env, cwd, None)
    uv_code, uv_out, uv_err = _finish(uv_proc, stdin)
    code, out, err = _finish(mine_proc, None)
    uv_picks: Picks = {}
    if mode == "lock":
        lock_file = root / "uv.lock"
        if uv_code == 0 and lock_file.exists():
            for name, entries in lock_picks(lock_file, root).items():
                if len(entries) == 1:
                    uv_picks[name] = entries[0]
                else:  # uv forked the lock (by Python or platform): compare none of them
                    uv_picks[name] = ("forked: " + ", ".join(v for v, _ in entries), "")
    else:
        uv_picks = compile_picks(uv_out)
    doc = json.loads(out) if out.strip() else {"packages": []}
    picks: Picks = {p["name"]: (p["version"], p["index"].rstrip("/")) for p in doc["packages"]}
    return Outcome(uv_code, uv_picks, uv_out, uv_err), Outcome(code, picks, out, err, doc)
