"""Benchmark: the whole graph. ``idx-auth resolve`` against ``uv pip compile`` and
``pip install --dry-run --report``, on a generated graph of 150 packages (3-6 versions each;
five groups force one step of backtracking), 30 top-level requirements, over three nginx-served
static PEP 503 indexes with PEP 658 ``.metadata`` files.

Cold caches every run (a fresh uv cache directory, ``pip --no-cache-dir``; we keep no cache),
the three tools interleaved round by round; prints median wall times, the ratios, our peak
memory (max RSS of the ``idx-auth`` process), and whether we and uv chose the same versions.

    python -m benchmarks.resolve_graph [--rounds 5]

Needs nginx (Debian: ``apt-get install nginx``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.resolve import find_uv, nginx_indexes, tool_env
from demo.wheels import core_metadata, make_wheel

INDEXES = 3
GENERATED = 135
GROUPS = 5  # backtracking groups of three packages each: 150 packages in all
TOPS = 20  # generated top-level requirements (+ two per group = 30)
BIN = Path(sys.executable).parent

Graph = dict[str, dict[str, list[str]]]  # name -> version -> requirements


def generate(seed: int = 11) -> tuple[Graph, list[str]]:
    rng = random.Random(seed)
    names = [f"gpkg-{i:03d}" for i in range(GENERATED)]
    deps: dict[int, set[int]] = {i: set() for i in range(GENERATED)}
    for j in range(TOPS, GENERATED):  # every package below the tops has a parent: all reachable
        deps[rng.randrange(0, j)].add(j)
    for i in range(GENERATED):
        for _ in range(rng.randrange(0, 3)):
            j = rng.randrange(i + 1, GENERATED + 1)
            if j < GENERATED:
                deps[i].add(j)
    graph: Graph = {}
    for i, name in enumerate(names):
        count = rng.randrange(3, 7)
        graph[name] = {
            f"1.{v}": [f"{names[j]}>={rng.choice(('1.0', '1.1'))}" for j in sorted(deps[i])]
            for v in range(count)
        }
    tops = [f"{n}>=1.0" for n in names[:TOPS]]
    for g in range(GROUPS):
        top, pin, core = f"bt{g}-top", f"bt{g}-pin", f"bt{g}-core"
        graph[top] = {
            "1.0": [f"{core}>=2"],
            "1.1": [f"{core}>=2"],
            "1.2": [f"{core}<2"],
            "1.3": [f"{core}<2"],
        }
        graph[pin] = {"1.0": [f"{core}>=2"], "1.1": [f"{core}>=2"], "1.2": [f"{core}>=2.1"]}
        graph[core] = {"1.0": [], "1.5": [], "2.0": [], "2.1": []}
        tops += [top, pin]
    return graph, tops


def build_trees(root: Path, graph: Graph) -> None:
    """Package k lives on index k % 3; every wheel has its ``.metadata`` beside it."""
    for idx in range(INDEXES):
        (root / f"idx{idx}" / "simple").mkdir(parents=True)
        (root / f"idx{idx}" / "files").mkdir()
    for k, (name, versions) in enumerate(sorted(graph.items())):
        tree = root / f"idx{k % INDEXES}"
        links = []
        for version, requires in versions.items():
            fn = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
            data = make_wheel(name, version, requires=requires)
            meta = core_metadata(name, version, None, requires).encode()
            (tree / "files" / fn).write_bytes(data)
            (tree / "files" / f"{fn}.metadata").write_bytes(meta)
            digest = hashlib.sha256(data).hexdigest()
            meta_digest = hashlib.sha256(meta).hexdigest()
            links.append(
                f'<a href="../../files/{fn}#sha256={digest}" '
                f'data-core-metadata="sha256={meta_digest}">{fn}</a><br/>'
            )
        page = tree / "simple" / name
        page.mkdir()
        (page / "index.html").write_text(
            "<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>"
        )


def timed(argv: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    uv = find_uv()
    graph, tops = generate()
    with tempfile.TemporaryDirectory(prefix="idx-bench-graph-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers drop to an unprivileged user when started as root
        build_trees(root, graph)
        with nginx_indexes(root, INDEXES) as urls:
            run_rounds(root, graph, tops, urls, uv, args.rounds)


def _max_rss(argv: list[str], env: dict[str, str]) -> int:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"{argv[0]} failed while measuring memory")
    return usage.ru_maxrss


def run_rounds(
    root: Path, graph: Graph, tops: list[str], urls: list[str], uv: str, rounds: int
) -> None:
    base_env = {**tool_env(root), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    index_args = ["--index", urls[0], "--index", urls[1], "--default-index", urls[2]]
    ours_argv = [str(BIN / "idx-auth"), "resolve", *tops, *index_args, "--json"]
    times: dict[str, list[float]] = {"ours": [], "uv": [], "pip": []}
    ours_out = uv_out = ""
    for r in range(rounds + 1):  # round 0 warms the OS page cache, not a tool cache
        t_ours, ours_out = timed(ours_argv, base_env)
        uv_env = {**base_env, "UV_CACHE_DIR": str(root / f"uv-cache-{r}")}
        uv_argv = [uv, "pip", "compile", "-", "--no-header", *index_args]
        t_uv, uv_out = timed(uv_argv, uv_env, stdin="\n".join(tops))
        pip_argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        pip_argv += ["--no-cache-dir", "-q", "--report", str(root / f"pip-{r}.json")]
        pip_argv += ["--index-url", urls[2], "--extra-index-url", urls[0]]
        pip_argv += ["--extra-index-url", urls[1], *tops]
        t_pip, _ = timed(pip_argv, base_env)
        if r:
            times["ours"].append(t_ours)
            times["uv"].append(t_uv)
            times["pip"].append(t_pip)
    rss = _max_rss(ours_argv, base_env)
    ours_picks = {p["name"]: p["version"] for p in json.loads(ours_out)["packages"]}
    uv_picks = dict(
        line.split(";")[0].strip().split("==")
        for line in uv_out.splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    )
    report = json.loads((root / f"pip-{rounds}.json").read_text())
    pip_picks = {i["metadata"]["name"]: i["metadata"]["version"] for i in report.get("install", [])}
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{len(graph)} packages ({len(ours_picks)} resolved), {len(tops)} requirements, "
        f"{INDEXES} nginx indexes with PEP 658 metadata, cold caches, median of {rounds}"
    )
    labels = {"ours": "idx-auth resolve", "uv": "uv pip compile", "pip": "pip --dry-run"}
    for k, label in labels.items():
        print(f"  {label:18s} {med[k] * 1000:8.1f} ms   (min {min(times[k]) * 1000:.1f} ms)")
    print(f"  ours / uv  = {med['ours'] / med['uv']:.2f}x   (target <= 3x)")
    print(f"  pip / ours = {med['pip'] / med['ours']:.2f}x   (target >= 5x)")
    print(f"  peak memory of idx-auth resolve: {rss / 1024:.1f} MiB (max RSS)")
    same_uv = ours_picks == uv_picks
    same_pip = ours_picks == pip_picks
    print(f"  same versions as uv: {same_uv}; as pip: {same_pip}")


if __name__ == "__main__":
    main()
