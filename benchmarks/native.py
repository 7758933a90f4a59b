"""Native speed: the fast keyring launcher, `idx-auth run` and `idx-auth token`, each beside its
peer, measured in one run (interleaved round by round, so machine load hits all alike).

1. `keyring get URL USER` through the launcher (`idx-auth setup fast-keyring`) with the agent
   up, against `keyring get` with keyrings.alt's PlaintextKeyring (keyring's floor).
   Target: at most 0.35x.
2. `idx-auth run -- uv pip compile` of one package from a password-protected pypiserver,
   against the same uv command given its credentials directly in `UV_INDEX_<NAME>_*`
   (target: at most 1.2x) and against uv asking keyring (`--keyring-provider subprocess`, the
   real keyring with our backend and the agent up; target: that at least 1.5x slower).
3. `idx-auth token URL -u USER` with the agent up, against `uv auth token` (target: at most 2x).

    python -m benchmarks.native [--rounds N] [--uv-cache]

uv runs with --no-cache by default, so that every run asks the index (with a warm cache uv
answers from its cache without a request, and no credential is needed at all).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.keyring_get import base_env, check, compile_ours, start_agent
from demo.localindex import serve, write_htpasswd
from demo.wheels import write_wheel

BIN = Path(sys.executable).parent
PKG, USER, SECRET = "idx-native-pkg", "alice", "s3cret-native"


class Setup:
    def __init__(self, root: Path, index_url: str, uv_cache: bool) -> None:
        self.root = root
        self.index_url = index_url
        env = base_env(root)
        env["IDX_AUTH_RUNTIME_DIR"] = str(root / "agent-run")
        env["UV_CREDENTIALS_DIR"] = str(root / "uv-credentials")
        env["UV_CACHE_DIR"] = str(root / "uv-cache")
        env["UV_PYTHON_DOWNLOADS"] = "never"
        env["UV_NO_PROGRESS"] = "1"
        self.env = env
        self.uv_cache = uv_cache
        self.project = root / "app"
        self.project.mkdir()
        (self.project / "pyproject.toml").write_text(
            f'[project]\nname = "app"\nversion = "0"\n\n'
            f'[[tool.uv.index]]\nname = "priv"\nurl = "{index_url}"\ndefault = true\n'
        )
        (self.project / "requirements.in").write_text(PKG + "\n")
        # As in a real project, the configuration was not written a moment ago (run trusts
        # remembered settings only for files older than 2 s: keyring_idx.run_cache).
        old = time.time() - 60
        os.utime(self.project / "pyproject.toml", (old, old))
        idx = str(BIN / "idx-auth")
        check([idx, "login", index_url, "-u", USER, "--password", "-"], env, SECRET)
        uv_login = [str(BIN / "uv"), "auth", "login", index_url, "-u", USER, "--password", "-"]
        check(uv_login, env, SECRET)
        self.plaintext = {**env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
        check([str(BIN / "keyring"), "set", index_url, USER], self.plaintext, SECRET + "\n")
        check([idx, "setup", "fast-keyring", "--bin-dir", str(root / "fast-bin")], env)
        self.launcher = str(root / "fast-bin" / "keyring")

    def compile_argv(self, *extra: str) -> list[str]:
        argv = [str(BIN / "uv"), "pip", "compile", "requirements.in", "--quiet"]
        argv += ["--python", sys.executable, *extra]
        return argv + ([] if self.uv_cache else ["--no-cache"])


def timed(argv: list[str], env: dict[str, str], expect: str, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    r = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - start
    if r.returncode != 0 or expect not in r.stdout:
        raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return elapsed


def cases(s: Setup) -> dict[str, Callable[[], float]]:
    env, url = s.env, s.index_url
    # uv reads its own credentials.toml before keyring: the compile cases must not see the one
    # `uv auth token` is measured on.
    compile_env = {**env, "UV_CREDENTIALS_DIR": str(s.root / "uv-credentials-none")}
    no_keyring = {**compile_env, "UV_KEYRING_PROVIDER": "disabled"}
    direct = {**no_keyring, "UV_INDEX_PRIV_USERNAME": USER, "UV_INDEX_PRIV_PASSWORD": SECRET}
    via_keyring = {**compile_env, "UV_INDEX_PRIV_USERNAME": USER}
    pinned = f"{PKG}=="
    idx = str(BIN / "idx-auth")
    return {
        "launcher": lambda: timed([s.launcher, "get", url, USER], env, SECRET),
        "plaintext": lambda: timed([str(BIN / "keyring"), "get", url, USER], s.plaintext, SECRET),
        "run": lambda: timed([idx, "run", "--", *s.compile_argv()], no_keyring, pinned, s.project),
        "direct": lambda: timed(s.compile_argv(), direct, pinned, s.project),
        "subprocess": lambda: timed(
            s.compile_argv("--keyring-provider", "subprocess"), via_keyring, pinned, s.project
        ),
        "token": lambda: timed([idx, "token", url, "-u", USER], env, SECRET),
        "uv token": lambda: timed([str(BIN / "uv"), "auth", "token", url, "-u", USER], env, SECRET),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--uv-cache", action="store_true", help="let uv use a warm cache")
    args = parser.parse_args()
    compile_ours()
    with tempfile.TemporaryDirectory(prefix="idx-native-") as tmp:
        root = Path(tmp)
        write_wheel(root / "packages", PKG, "0.1.0")
        htpasswd = write_htpasswd(root / "htpasswd", {USER: SECRET})
        with serve(root / "packages", htpasswd) as index:
            setup = Setup(root, index.simple, uv_cache=args.uv_cache)
            agent = start_agent(setup.env)
            try:
                runs = cases(setup)
                for run in runs.values():
                    run()  # warm the caches, the agent's key and uv's cache
                times: dict[str, list[float]] = {name: [] for name in runs}
                for _ in range(args.rounds):
                    for name, run in runs.items():
                        times[name].append(run())
            finally:
                agent.terminate()
                agent.wait(15)
    m = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    cache = "warm cache" if args.uv_cache else "no cache"
    print(f"Native speed, median of {args.rounds} interleaved rounds (ms)")
    rows = [
        ("keyring get: launcher (agent up) / PlaintextKeyring", "launcher", "plaintext", 0.35),
        (f"uv pip compile ({cache}): idx-auth run / UV_INDEX_* given", "run", "direct", 1.2),
        ("idx-auth token (agent up) / uv auth token", "token", "uv token", 2.0),
    ]
    for label, ours, peer, target in rows:
        ratio = m[ours] / m[peer]
        verdict = "ok" if ratio <= target else "OVER"
        print(
            f"  {label:<58} {m[ours]:7.1f} / {m[peer]:7.1f}  = {ratio:5.2f}x"
            f"  (target <= {target}x: {verdict})"
        )
    speedup = m["subprocess"] / m["run"]
    verdict = "ok" if speedup >= 1.5 else "UNDER"
    label = f"uv pip compile ({cache}): --keyring-provider subprocess / idx-auth run"
    print(
        f"  {label:<58} {m['subprocess']:7.1f} / {m['run']:7.1f}  = {speedup:5.2f}x"
        f"  (target >= 1.5x: {verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
