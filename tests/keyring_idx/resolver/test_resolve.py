from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.utils import NormalizedName

from keyring_idx.resolver.client import PageResult
from keyring_idx.resolver.config import Index, Settings, Strategy
from keyring_idx.resolver.outcome import Resolved, Skipped, Unresolved
from keyring_idx.resolver.report import explain, table, to_json
from keyring_idx.resolver.resolve import resolve_all, resolve_one
from keyring_idx.resolver.select import make_target
from keyring_idx.resolver.simple import DistFile

A = Index(url="https://user:secret@a/simple", name="a")
B = Index(url="https://b/simple", name="b", default=True)
TARGET = make_target("3.12", "linux")


@dataclass
class Fake:
    """index name -> project -> (status, versions)."""

    pages: dict[str, dict[str, tuple[int, list[str]]]]

    def page(self, index: Index, name: NormalizedName) -> PageResult:
        status, versions = self.pages[index.name or ""].get(name, (404, []))
        files = tuple(
            DistFile(
                f"{name}-{v}-py3-none-any.whl",
                f"https://{index.name}/{name}-{v}.whl",
                (("sha256", v),),
            )
            for v in versions
        )
        return PageResult(index, f"{index.display_url}/{name}/", status, files, "url")


def settings(strategy: Strategy = "first-index") -> Settings:
    return Settings(indexes=(A, B), strategy=strategy)


def test_first_index_outcomes() -> None:
    fake = Fake({"a": {"x": (200, ["1.0"]), "y": (401, []), "z": (500, [])}, "b": {}})
    s = settings()
    found = resolve_one("x", s, TARGET, fake)
    assert isinstance(found, Resolved)
    assert (found.version, found.index, found.hashes) == ("1.0", A, ("sha256:1.0",))
    stopped = resolve_one("y", s, TARGET, fake)
    assert isinstance(stopped, Unresolved)
    assert "401" in stopped.reason
    assert [st.index for st in stopped.steps] == [A]
    err = resolve_one("z", s, TARGET, fake)
    assert isinstance(err, Unresolved)
    assert "500" in err.reason
    missing = resolve_one("w", s, TARGET, fake)
    assert isinstance(missing, Unresolved)
    assert "not found on any index" in missing.reason
    assert isinstance(resolve_one("x; sys_platform == 'win32'", s, TARGET, fake), Skipped)
    assert isinstance(resolve_one("not a req ==", s, TARGET, fake), Unresolved)
    assert isinstance(resolve_one("x @ https://h/x.whl", s, TARGET, fake), Unresolved)


def test_unsafe_strategies() -> None:
    fake = Fake(
        {
            "a": {"x": (200, ["1.0"]), "y": (403, [])},
            "b": {"x": (200, ["2.0"]), "y": (200, ["1.0"])},
        }
    )
    with ThreadPoolExecutor(4) as pool:
        first = resolve_one("x", settings("unsafe-first-match"), TARGET, fake, pool)
        best = resolve_one("x", settings("unsafe-best-match"), TARGET, fake, pool)
        past_403 = resolve_one("y", settings("unsafe-best-match"), TARGET, fake, pool)
    assert isinstance(first, Resolved) and (first.version, first.index) == ("1.0", A)
    assert isinstance(best, Resolved) and (best.version, best.index) == ("2.0", B)
    assert isinstance(past_403, Resolved) and past_403.index == B


def test_resolve_all_keeps_order_and_report_hides_secrets() -> None:
    fake = Fake({"a": {"x": (200, ["1.0"])}, "b": {"y": (200, ["2.0"])}})
    results = resolve_all(["y", "x", "nope"], settings(), TARGET, fake, workers=2)
    assert [r.name for r in results] == ["y", "x", "nope"]
    doc = to_json(results)
    assert [p["name"] for p in doc["packages"]] == ["y", "x"]
    assert doc["packages"][1]["index"] == "https://a/simple"
    assert doc["unresolved"][0]["requirement"] == "nope"
    text = json.dumps(doc) + table(results) + explain(results)
    assert "secret" not in text
    assert "=> x 1.0 from a" in explain(results)


@dataclass
class Clocked(Fake):
    """A Fake whose pages take ``page_time`` on a fake clock, recording the asking thread."""

    page_time: float = 0.0
    now: float = 0.0
    threads: dict[str, int] = field(default_factory=dict)

    def page(self, index: Index, name: NormalizedName) -> PageResult:
        self.now += self.page_time
        self.threads[name] = threading.get_ident()
        return super().page(index, name)

    def clock(self) -> float:
        return self.now


NAMES = [f"p{i}" for i in range(12)]


def _pages() -> dict[str, dict[str, tuple[int, list[str]]]]:
    # Every other package is on the second index only: two pages for those.
    return {
        "a": {n: (200, ["1.0"]) for n in NAMES[::2]},
        "b": {n: (200, ["2.0"]) for n in NAMES},
    }


def test_fast_pages_are_fetched_one_after_another_in_the_calling_thread() -> None:
    fake = Clocked(_pages(), page_time=0.0005)
    results = resolve_all(NAMES, settings(), TARGET, fake, workers=8, clock=fake.clock)
    assert [r.name for r in results] == NAMES
    assert set(fake.threads.values()) == {threading.get_ident()}


def test_slow_pages_move_the_rest_to_worker_threads_keeping_the_order() -> None:
    fake = Clocked(_pages(), page_time=0.040)
    results = resolve_all(NAMES, settings(), TARGET, fake, workers=4, clock=fake.clock)
    assert [r.name for r in results] == NAMES
    assert [r.version for r in results if isinstance(r, Resolved)] == ["1.0", "2.0"] * 6
    # The first pays for connecting and is not judged; the second shows the network is slow.
    assert fake.threads["p0"] == fake.threads["p1"] == threading.get_ident()
    assert all(fake.threads[n] != threading.get_ident() for n in NAMES[2:])


def test_one_worker_never_starts_threads_even_when_slow() -> None:
    fake = Clocked(_pages(), page_time=0.040)
    resolve_all(NAMES, settings(), TARGET, fake, workers=1, clock=fake.clock)
    assert set(fake.threads.values()) == {threading.get_ident()}


def test_git_path_url_and_workspace_sources_are_skipped_not_asked() -> None:
    from keyring_idx.resolver.config import parse_sources

    sources = parse_sources(
        {
            "mylib": {"git": "https://git.example/mylib", "tag": "v1"},
            "tool": {"path": "../tool", "editable": True},
            "member": {"workspace": True},
            "split": [
                {"index": "a", "marker": "sys_platform == 'linux'"},
                {"path": "../split", "marker": "sys_platform == 'darwin'"},
            ],
        },
        "pyproject.toml",
    )
    s = Settings(indexes=(A, B), sources=sources)
    fake = Fake({"a": {"split": (200, ["2.0"])}, "b": {}})
    results = [resolve_one(r, s, TARGET, fake) for r in ("mylib", "tool", "member", "split")]
    skipped = results[:3]
    assert all(isinstance(r, Skipped) and "source, not an index" in r.reason for r in skipped)
    assert [r.reason.split(" gives it a ")[1].split()[0] for r in skipped] == [  # type: ignore[union-attr]
        "git",
        "path",
        "workspace",
    ]
    split = results[3]
    assert isinstance(split, Resolved) and split.version == "2.0"  # linux: the index pin
    mac = make_target("3.12", "macos")
    assert isinstance(resolve_one("split", s, mac, fake), Skipped)
    doc = to_json(results)
    assert [x["requirement"] for x in doc["skipped"]] == ["mylib", "tool", "member"]
    assert "(skipped: not from an index)" in table(results)


def test_a_source_table_that_names_no_source_is_an_error() -> None:
    import pytest

    from keyring_idx.resolver.config import parse_sources
    from keyring_idx.resolver.errors import ConfigError

    with pytest.raises(ConfigError, match="names no source"):
        parse_sources({"x": {"branch": "main"}}, "pyproject.toml")
