"""Wall time of `keyring get URL USER`: IdxKeyring against keyrings.alt's PlaintextKeyring.

Every case runs the real `keyring` command in a throwaway HOME, interleaved round by round so
that machine load hits all of them alike; the median of --rounds runs (default 21) is printed
with its ratio to PlaintextKeyring (target: IdxKeyring at most 1.15x).

Cases: each backend selected with PYTHON_KEYRING_BACKEND; default discovery (every installed
backend imported, the chainer asks ours first) without and with the keyringrc.cfg that
`idx-auth setup keyring` writes; and IdxKeyring answered by a running agent.

    python -m benchmarks.keyring_get [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
URL, USER, SECRET = "https://pypi.example.com/simple/", "alice", "s3cret-token"
TARGET = 1.15


def base_env(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON_KEYRING", "KEYRING_", "IDX_AUTH_", "XDG_"))
    }
    home = root / "home"
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        IDX_AUTH_DATA_DIR=str(home / "idx-data"),
        IDX_AUTH_CONFIG_DIR=str(home / "idx-config"),
        IDX_AUTH_RUNTIME_DIR=str(root / "no-agent"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def check(argv: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    r = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def prepare(root: Path) -> dict[str, dict[str, str]]:
    env = base_env(root)
    check([str(BIN / "idx-auth"), "login", URL, "-u", USER, "--password", "-"], env, SECRET)
    plaintext = {**env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    check([str(BIN / "keyring"), "set", URL, USER], plaintext, SECRET + "\n")
    with_rc = {**env, "XDG_CONFIG_HOME": str(root / "config-with-rc")}
    check([str(BIN / "idx-auth"), "setup", "keyring"], with_rc)
    agent_env = {
        **env,
        "PYTHON_KEYRING_BACKEND": "keyring_idx.backend.IdxKeyring",
        "IDX_AUTH_RUNTIME_DIR": str(root / "agent-run"),
    }
    return {
        "PlaintextKeyring (PYTHON_KEYRING_BACKEND)": plaintext,
        "IdxKeyring (PYTHON_KEYRING_BACKEND)": {
            **env,
            "PYTHON_KEYRING_BACKEND": "keyring_idx.backend.IdxKeyring",
        },
        "IdxKeyring via keyringrc.cfg (setup keyring)": with_rc,
        "default discovery, no keyringrc.cfg": env,
        "IdxKeyring answered by the agent": agent_env,
    }


def start_agent(env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(BIN / "idx-auth"), "agent"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock = Path(env["IDX_AUTH_RUNTIME_DIR"]) / "agent.sock"
    deadline = time.monotonic() + 20
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the agent did not start")
        time.sleep(0.05)
    return proc


def time_once(env: dict[str, str]) -> float:
    argv = [str(BIN / "keyring"), "get", URL, USER]
    start = time.perf_counter()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if r.stdout != SECRET + "\n":
        raise SystemExit(f"wrong answer from {env.get('PYTHON_KEYRING_BACKEND')}: {r.stderr}")
    return elapsed


def compile_ours() -> None:
    """Byte-compile our packages as an install would: an editable install run with
    PYTHONDONTWRITEBYTECODE=1 would otherwise recompile them on every run, which the peer,
    installed normally, never pays."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("keyring_idx", "store"):
        compileall.compile_dir(root / package, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    compile_ours()
    with tempfile.TemporaryDirectory(prefix="idx-bench-") as tmp:
        cases = prepare(Path(tmp))
        agent = start_agent(cases["IdxKeyring answered by the agent"])
        try:
            for env in cases.values():
                time_once(env)  # warm the page cache and the agent's unlocked key
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.rounds):
                for name, env in cases.items():
                    times[name].append(time_once(env))
        finally:
            agent.terminate()
            agent.wait(15)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    base = medians["PlaintextKeyring (PYTHON_KEYRING_BACKEND)"]
    print(f"`keyring get URL USER`, median of {args.rounds} interleaved runs")
    for name, median in medians.items():
        print(f"  {name:<46} {median * 1000:7.1f} ms  {median / base:5.2f}x")
    ours = medians["IdxKeyring (PYTHON_KEYRING_BACKEND)"] / base
    verdict = "within" if ours <= TARGET else "OVER"
    print(f"IdxKeyring / PlaintextKeyring = {ours:.2f}x ({verdict} the {TARGET}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
