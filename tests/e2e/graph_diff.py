"""Whole-graph differential runs: ``uv pip compile`` (with dependencies) against
``idx-auth resolve``, both asked the same question in one isolated environment."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from tests.e2e.differential import UV, Outcome, Picks, annotated_picks, ours


def uv_graph(
    project: Path, env: dict[str, str], requirements: list[str] | None, *args: str
) -> Outcome:
    """``uv pip compile`` of the whole graph (requirements on stdin, or the pyproject.toml)."""
    source = ["pyproject.toml"] if requirements is None else ["-"]
    proc = subprocess.run(
        [str(UV), "pip", "compile", *source, "--emit-index-annotation", "--no-header", *args],
        input="\n".join(requirements or []) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=180,
    )
    return Outcome(proc.returncode, annotated_picks(proc.stdout), proc.stdout, proc.stderr)


def uv_lock(project: Path, env: dict[str, str]) -> Outcome:
    """``uv lock`` of the project; picks from uv.lock (the project itself left out)."""
    proc = subprocess.run(
        [str(UV), "lock"], capture_output=True, text=True, env=env, cwd=project, timeout=180
    )
    picks: Picks = {}
    lock = project / "uv.lock"
    if proc.returncode == 0 and lock.is_file():
        doc = tomllib.loads(lock.read_text())
        for package in doc.get("package", []):
            registry = package.get("source", {}).get("registry")
            if registry is not None:
                picks[package["name"]] = (package["version"], registry.rstrip("/"))
    return Outcome(proc.returncode, picks, proc.stdout, proc.stderr)


def both(
    project: Path, env: dict[str, str], reqs: list[str], *args: str, pyproject: bool = False
) -> tuple[Outcome, Outcome]:
    uv = uv_graph(project, env, None if pyproject else reqs, *args)
    mine = ours(project, env, [] if pyproject else reqs, *args)
    return uv, mine


def assert_same(uv: Outcome, mine: Outcome, expected: dict[str, tuple[str, str]]) -> None:
    assert uv.code == 0, uv.stderr
    assert mine.code == 0, mine.stderr
    want = {k: (v, url.rstrip("/")) for k, (v, url) in expected.items()}
    assert uv.picks == want, uv.stdout
    assert mine.picks == want, mine.stdout
