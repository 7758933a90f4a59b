"""Which ``keyring`` uv would run, and which backend it selects.

uv runs the first ``keyring`` on PATH; that script's own Python chooses the backend
(``PYTHON_KEYRING_BACKEND``, then ``keyringrc.cfg``, then the highest priority, often the
chainer). ``keyring --list-backends`` lists, it does not select, so doctor asks that Python
directly, with the same environment and a time-out: a backend that prompts or waits on a bus
would hang uv (which has no time-out) and must not hang doctor.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from keyring_idx.doctor.facts import interpreter
from keyring_idx.doctor.model import Backend, KeyringFacts

DEFAULT_TIMEOUT = 15.0

# Runs inside the keyring script's interpreter (any Python 3 keyring supports) in isolated
# mode (-I), so nothing is imported from the directory doctor runs in: a `json.py` in a
# checked-out repository must not run. Isolation also drops PYTHONPATH and the user's
# site-packages, which the real script sees, so the probe puts them back itself, in the order
# the script has them: its own directory, PYTHONPATH, then the user site before the others.
# stdlib and keyring only; one JSON line on stdout.
PROBE = r"""
import json, os, site, sys
script_dir, no_env, no_user_site = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
front = [script_dir]
if not no_env:
    front += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
sys.path[0:0] = front
if not no_user_site and not (not no_env and os.environ.get("PYTHONNOUSERSITE")):
    before = list(sys.path)
    user = site.getusersitepackages()
    if os.path.isdir(user):
        site.addsitedir(user)
        added = [p for p in sys.path if p not in before]
        rest = [p for p in sys.path if p in before]
        ends = ("site-packages", "dist-packages")
        at = next((i for i, p in enumerate(rest) if p.endswith(ends)), len(rest))
        sys.path[:] = rest[:at] + added + rest[at:]
out = {}
try:
    import importlib.util
    out["imports_ours"] = importlib.util.find_spec("keyring_idx") is not None
    import keyring
    from keyring.backends import chainer
    def name(b):
        t = type(b)
        return t.__module__ + "." + t.__qualname__
    def priority(b):
        try:
            return float(b.priority)
        except Exception:
            return None
    out["env_backend"] = os.environ.get("PYTHON_KEYRING_BACKEND")
    try:
        import configparser
        from keyring.util import platform_
        path = os.path.join(str(platform_.config_root()), "keyringrc.cfg")
        out["config_file"] = path
        config = configparser.RawConfigParser()
        config.read(path, encoding="utf-8")
        if config.has_option("backend", "default-keyring"):
            out["config_backend"] = config.get("backend", "default-keyring").strip()
    except Exception:
        pass
    selected = keyring.get_keyring()
    out["selected"] = name(selected)
    if isinstance(selected, chainer.ChainerBackend):
        out["chain"] = [[name(b), priority(b)] for b in selected.backends]
except Exception as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""


def this_install() -> str | None:
    """The ``keyring`` script beside this Python (the one that can import keyring_idx)."""
    path = Path(sys.executable).parent / "keyring"
    return str(path) if path.exists() else None


def _read_head(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(1024)
    except OSError:
        return None
    return raw.decode("utf-8", "replace")


def _interpreter_flags(argv: list[str]) -> tuple[bool, bool]:
    """Whether the shebang's own options make Python ignore the environment (-E, -I) and the
    user's site-packages (-s, -I), so the isolated probe rebuilds only what the script sees."""
    short = "".join(w[1:] for w in argv[1:] if w.startswith("-") and not w.startswith("--"))
    return ("E" in short or "I" in short), ("s" in short or "I" in short)


def absolute_path(search_path: str) -> str:
    """``search_path`` without its relative entries (``.``, empty): a program found through
    one of those would come from whatever directory doctor happens to run in."""
    return os.pathsep.join(p for p in search_path.split(os.pathsep) if os.path.isabs(p))


def keyring_facts(env: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT) -> KeyringFacts:
    search_path = absolute_path(env.get("PATH", os.defpath))
    command = shutil.which("keyring", path=search_path)
    if command is None:
        return KeyringFacts(command=None)
    head = _read_head(command)
    argv = interpreter(head or "", lambda name: shutil.which(name, path=search_path))
    if argv is None:
        return KeyringFacts(
            command=command,
            error="it is not a Python script with a shebang, so its interpreter is unknown",
        )
    return ask_python(argv, command, env, timeout=timeout)


def _parse(command: str, python: str, stdout: str, stderr: str, code: int) -> KeyringFacts:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        data = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        last = (stderr.strip().splitlines() or [f"exit status {code}"])[-1]
        return KeyringFacts(command=command, python=python, error=last[:300])
    chain = tuple(
        Backend(str(item[0]), item[1] if isinstance(item[1], int | float) else None)
        for item in data.get("chain") or []
        if isinstance(item, list) and len(item) == 2
    )

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    imports = data.get("imports_ours")
    return KeyringFacts(
        command=command,
        python=python,
        selected=text("selected"),
        chain=chain,
        env_backend=text("env_backend"),
        config_file=text("config_file"),
        config_backend=text("config_backend"),
        imports_ours=imports if isinstance(imports, bool) else None,
        error=text("error"),
    )


def ask_python(
    argv: list[str],
    script: str,
    env: Mapping[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> KeyringFacts:
    """Which backend keyring selects inside the Python ``argv`` runs (a tool's own
    environment: poetry, hatch, twine), as the console script ``script`` would see it."""
    no_env, no_user_site = _interpreter_flags(argv)
    flags = ["1" if no_env else "0", "1" if no_user_site else "0"]
    try:
        result = subprocess.run(
            [*argv, "-I", "-c", PROBE, str(Path(script).parent), *flags],
            env=dict(env),
            cwd="/",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return KeyringFacts(command=script, python=argv[0], timed_out=True)
    except OSError as exc:
        return KeyringFacts(
            command=script, python=argv[0], error=f"cannot run {argv[0]}: {exc.strerror}"
        )
    return _parse(script, argv[0], result.stdout, result.stderr, result.returncode)
