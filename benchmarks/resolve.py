"""Benchmark: ``idx-auth resolve`` against ``uv pip compile --no-deps`` and ``pip download
--no-deps``, 50 requirements over 3 loopback indexes served by nginx as static PEP 503 trees.

Cold caches every run (fresh uv cache directory, ``pip --no-cache-dir``; we keep no cache), the
three tools interleaved round by round; prints median wall times and the ratios.

    python -m benchmarks.resolve [--rounds 7]

Needs nginx (Debian: ``apt-get install nginx``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from demo.localindex import free_port
from demo.wheels import make_wheel

INDEXES = 3
PACKAGES = 50
VERSIONS = 8
BIN = Path(sys.executable).parent


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None
    )
    if found is None:
        sys.exit(
            "nginx is not installed; this benchmark serves its indexes with it.\n"
            "Install it (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y nginx\n"
            "then run again: python -m benchmarks.resolve"
        )
    return found


def build_trees(root: Path) -> list[str]:
    """Package i lives on index i % 3, so first-index walks 1, 2 or 3 indexes for it."""
    names = [f"bench-pkg-{i:02d}" for i in range(PACKAGES)]
    for idx in range(INDEXES):
        (root / f"idx{idx}" / "simple").mkdir(parents=True)
        (root / f"idx{idx}" / "files").mkdir()
    for i, name in enumerate(names):
        idx = i % INDEXES
        page = root / f"idx{idx}" / "simple" / name
        page.mkdir()
        links = []
        for v in range(VERSIONS):
            version = f"1.{v}.0"
            fn = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
            data = make_wheel(name, version)
            (root / f"idx{idx}" / "files" / fn).write_bytes(data)
            import hashlib

            digest = hashlib.sha256(data).hexdigest()
            links.append(f'<a href="../../files/{fn}#sha256={digest}">{fn}</a><br/>')
        (page / "index.html").write_text(
            "<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>"
        )
    return names


def nginx_conf(root: Path, ports: list[int]) -> Path:
    servers = "".join(
        f"  server {{ listen 127.0.0.1:{port}; root {root}/idx{i}; index index.html; }}\n"
        for i, port in enumerate(ports)
    )
    conf = root / "nginx.conf"
    conf.write_text(
        f"worker_processes 2;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {root}/tmp;\n"
        f"  proxy_temp_path {root}/tmp;\n  fastcgi_temp_path {root}/tmp;\n"
        f"  uwsgi_temp_path {root}/tmp;\n  scgi_temp_path {root}/tmp;\n"
        "  types { text/html html; application/octet-stream whl; }\n"
        "  keepalive_requests 10000;\n"
        f"{servers}}}\n"
    )
    (root / "tmp").mkdir()
    return conf


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"nginx did not start listening on 127.0.0.1:{port}")


def timed(
    argv: list[str], env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    uv = find_uv()
    with tempfile.TemporaryDirectory(prefix="idx-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers drop to an unprivileged user when started as root
        names = build_trees(root)
        with nginx_indexes(root, INDEXES) as urls:
            results = run_rounds(root, names, urls, uv, args.rounds)
    report(results, args.rounds)


def find_uv() -> str:
    uv = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    if uv is None:
        sys.exit("uv is not installed; pip install uv==0.13.9")
    return uv


@contextlib.contextmanager
def nginx_indexes(root: Path, count: int) -> Iterator[list[str]]:
    """nginx serving the trees under ``root`` as ``count`` indexes on free 127.0.0.1 ports;
    their ``/simple`` URLs. Stopped on the way out."""
    nginx = find_nginx()
    ports = [free_port() for _ in range(count)]
    conf = nginx_conf(root, ports)
    server = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"])
    try:
        for port in ports:
            wait_for(port)
        yield [f"http://127.0.0.1:{port}/simple" for port in ports]
    finally:
        server.terminate()
        server.wait(timeout=10)


def tool_env(root: Path) -> dict[str, str]:
    """What every tool runs with: a throwaway HOME and store under ``root``, no netrc, no
    proxy, uv on this interpreter without downloads."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root / "home"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "NO_PROXY": "*",
        "NETRC": str(root / "no-netrc"),
        "IDX_AUTH_DATA_DIR": str(root / "idx-data"),
        "IDX_AUTH_CONFIG_DIR": str(root / "idx-config"),
    }


def run_rounds(
    root: Path, names: list[str], urls: list[str], uv: str, rounds: int
) -> dict[str, list[float]]:
    base_env = tool_env(root)
    reqs = [f"{n}>=1.2" for n in names]
    times: dict[str, list[float]] = {
        "idx-auth resolve": [],
        "uv pip compile": [],
        "pip download": [],
    }
    index_args = ["--index", urls[0], "--index", urls[1], "--default-index", urls[2]]
    # Every tool answers the same question (the requirements alone, --no-deps), from a
    # directory with no project in it (the pip model; uv reads no pyproject.toml either).
    work = root / "work"
    work.mkdir(exist_ok=True)
    for r in range(rounds + 1):  # round 0 warms the OS page cache, not a tool cache
        ours = timed(
            [str(BIN / "idx-auth"), "resolve", *reqs, *index_args, "--no-deps", "--json"],
            base_env,
            cwd=work,
        )
        uv_env = {**base_env, "UV_CACHE_DIR": str(root / f"uv-cache-{r}")}
        uvt = timed(
            [uv, "pip", "compile", "-", "--no-deps", "--no-header", *index_args],
            uv_env,
            stdin="\n".join(reqs),
            cwd=work,
        )
        dest = root / f"pip-dl-{r}"
        pipt = timed(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "-q",
                "-d",
                str(dest),
                "--index-url",
                urls[0],
                "--extra-index-url",
                urls[1],
                "--extra-index-url",
                urls[2],
                *reqs,
            ],
            base_env,
            cwd=work,
        )
        if r:
            times["idx-auth resolve"].append(ours)
            times["uv pip compile"].append(uvt)
            times["pip download"].append(pipt)
    return times


def report(times: dict[str, list[float]], rounds: int) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{PACKAGES} requirements, {INDEXES} nginx indexes, cold caches, median of {rounds}")
    for k, v in med.items():
        print(f"  {k:18s} {v * 1000:8.1f} ms   (min {min(times[k]) * 1000:.1f} ms)")
    ours = med["idx-auth resolve"]
    print(f"  pip / ours = {med['pip download'] / ours:.2f}x   (target >= 3x)")
    print(f"  ours / uv  = {ours / med['uv pip compile']:.2f}x   (target <= 2x)")


if __name__ == "__main__":
    main()
