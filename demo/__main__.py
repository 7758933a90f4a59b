"""``make demo``: uv installs a private package from a local authenticated index through keyring.

Everything happens in ./.demo (HOME and the XDG dirs point there): pypiserver with an htpasswd
file on a free 127.0.0.1 port, `idx-auth login`, a look at the store, `idx-auth setup keyring`,
an upload with twine whose password comes from the store, and `uv pip install
--keyring-provider subprocess` into a fresh venv; then the credential agent answering a lookup
from memory. Each command is printed before it runs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from demo.localindex import BIN, serve, write_htpasswd
from demo.wheels import write_wheel

ROOT = Path(__file__).resolve().parent.parent / ".demo"
PKG, USER = "idx-demo-private", "demo"


def environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UV_", "PIP_", "PYTHON_KEYRING", "KEYRING_", "IDX_AUTH_", "XDG_"))
    }
    home = ROOT / "home"
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_RUNTIME_DIR=str(ROOT / "run"),
        UV_CACHE_DIR=str(ROOT / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def step(argv: list[str], env: dict[str, str], *, stdin: str | None = None, note: str = "") -> str:
    shown = " ".join(shlex.quote(a) for a in argv)
    shown = shown.replace(f"{BIN}/", "").replace(f"{ROOT.parent}/", "")
    print(f"\n$ {shown}" + (f"    # {note}" if note else ""), flush=True)
    result = subprocess.run(
        argv,
        env=env,
        input=stdin,
        text=True,
        stdout=subprocess.PIPE,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    if result.returncode != 0:
        raise SystemExit(f"demo: `{shown}` failed with exit code {result.returncode}")
    return result.stdout


@contextlib.contextmanager
def running_agent(idx_auth: str, env: dict[str, str]) -> Iterator[None]:
    """``idx-auth agent`` in the background until the block ends, then stopped by its pid."""
    print(f"\n$ idx-auth agent &    # log in {ROOT.name}/agent.log", flush=True)
    with open(ROOT / "agent.log", "wb") as log:
        agent = subprocess.Popen(
            [idx_auth, "agent"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        socket = ROOT / "run" / "idx-auth" / "agent.sock"
        deadline = time.monotonic() + 20
        while not socket.exists():
            if agent.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"demo: the agent did not start; see {ROOT / 'agent.log'}")
            time.sleep(0.05)
        yield
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)


def main() -> int:
    shutil.rmtree(ROOT, ignore_errors=True)
    for d in (ROOT / "home", ROOT / "run"):
        d.mkdir(parents=True, mode=0o700)
    env = environment()
    password = secrets.token_urlsafe(18)
    packages = ROOT / "packages"
    packages.mkdir()
    htpasswd = write_htpasswd(ROOT / "htpasswd", {USER: password})
    wheel = write_wheel(
        ROOT / "dist",
        PKG,
        "1.0.0",
        'def hello() -> str:\n    return "hello from a private index"\n',
    )
    idx_auth, keyring, uv, twine = (str(BIN / n) for n in ("idx-auth", "keyring", "uv", "twine"))
    with serve(packages, htpasswd, log=ROOT / "pypiserver.log") as index:
        print(f"pypiserver on {index.root} (htpasswd: every action needs {USER}'s password)")
        step(
            [idx_auth, "login", index.simple, "-u", USER, "--password", "-"],
            env,
            stdin=password + "\n",
            note="password on stdin, never in argv",
        )
        step([idx_auth, "list"], env)
        step([idx_auth, "token", index.simple, "-u", USER], env)
        step([idx_auth, "export", "--plaintext", "-"], env, note="prints a warning on stderr")
        step([idx_auth, "setup", "keyring"], env)
        step([keyring, "--mode", "creds", "get", index.simple], env, note="what pip asks")
        step(
            [
                twine,
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                "--repository-url",
                index.root,
                "-u",
                USER,
                str(wheel),
            ],
            env,
            note="the password comes from the store through keyring",
        )
        venv = ROOT / "venv"
        step([uv, "venv", str(venv), "--python", sys.executable, "--quiet"], env)
        step(
            [
                uv,
                "pip",
                "install",
                "--python",
                str(venv / "bin" / "python"),
                "--keyring-provider",
                "subprocess",
                "--index-url",
                f"http://{USER}@127.0.0.1:{index.port}/simple/",
                PKG,
            ],
            env,
            note="uv runs `keyring get URL demo`; our backend answers from the store",
        )
        module = PKG.replace("-", "_")
        step([str(venv / "bin" / "python"), "-c", f"import {module}; print({module}.hello())"], env)
        with running_agent(idx_auth, env):
            step([idx_auth, "status"], env, note="the agent holds the unlocked key")
            step(
                [keyring, "get", index.simple, USER],
                env,
                note="answered by the agent from memory, no decryption in this process",
            )
    print("\npypiserver and the agent stopped; everything is in .demo/ (delete it when done)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
