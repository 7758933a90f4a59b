"""The graph over fake pages and metadata: backtracking, extras, markers, index rules, errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from keyring_idx.resolver.client import PageResult
from keyring_idx.resolver.config import Index, Settings, SourcePin, Strategy
from keyring_idx.resolver.graph import DIRECT, resolve_graph
from keyring_idx.resolver.graph_report import explain, table, to_json
from keyring_idx.resolver.metadata import CoreMetadata
from keyring_idx.resolver.outcome import Graph
from keyring_idx.resolver.select import make_target
from keyring_idx.resolver.simple import DistFile

A = Index(url="https://a/simple", name="a")
B = Index(url="https://b/simple", name="b", default=True)
X = Index(url="https://x/simple", name="x", explicit=True)
TARGET = make_target("3.12", "linux")

# index name -> project -> version -> requirements
Data = dict[str, dict[str, dict[str, list[str]]]]


@dataclass
class Fake:
    data: Data
    asked: list[tuple[str, str]] = field(default_factory=list)

    def page(self, index: Index, name: NormalizedName) -> PageResult:
        self.asked.append((index.name or "", name))
        versions = self.data.get(index.name or "", {}).get(name)
        if versions is None:
            return PageResult(index, f"{index.url}/{name}/", 404, (), "none")
        files = tuple(
            DistFile(
                f"{name}-{v}-py3-none-any.whl", f"{index.url}/{name}-{v}.whl", (("sha256", v),)
            )
            for v in versions
        )
        return PageResult(index, f"{index.url}/{name}/", 200, files, "none")

    def metadata(self, index: Index, file: DistFile) -> CoreMetadata:
        name, version = file.filename.split("-")[:2]
        requires = self.data[index.name or ""][name][version]
        return CoreMetadata(
            canonicalize_name(name), Version(version), tuple(requires), None, (), "pep658"
        )


def run(
    reqs: list[str], data: Data, strategy: Strategy = "first-index", **settings: object
) -> Graph:
    fake = Fake(data)
    s = Settings(indexes=(A, B, X), strategy=strategy, **settings)  # type: ignore[arg-type]
    return resolve_graph(reqs, s, TARGET, fake, fake.metadata, workers=2)


def picks(graph: Graph) -> dict[str, tuple[str, str | None]]:
    assert not graph.failures, graph.failures
    return {p.name: (p.version, p.index.name) for p in graph.pins}


def test_backtracks_to_a_consistent_set() -> None:
    data: Data = {
        "b": {
            "alpha": {"1.0": ["core>=2"], "2.0": ["core<2"]},
            "beta": {"1.0": ["core>=2"]},
            "core": {"1.0": [], "2.0": [], "2.1": []},
        }
    }
    assert picks(run(["alpha", "beta"], data)) == {
        "alpha": ("1.0", "b"),
        "beta": ("1.0", "b"),
        "core": ("2.1", "b"),
    }


def test_extras_markers_and_required_by() -> None:
    data: Data = {
        "b": {
            "lib": {"1.0": ["base", 'fast; extra == "fast"', 'win; sys_platform == "win32"']},
            "base": {"1.0": []},
            "fast": {"1.0": ["base>=1"]},
            "win": {"1.0": []},
        }
    }
    graph = run(["lib[fast]"], data)
    assert picks(graph) == {"lib": ("1.0", "b"), "base": ("1.0", "b"), "fast": ("1.0", "b")}
    by: dict[str, tuple[str, ...]] = {p.name: p.required_by for p in graph.pins}
    assert by["lib"] == (DIRECT,) and set(by["base"]) == {"lib", "fast"}
    doc = to_json(graph)
    assert {p["name"] for p in doc["packages"]} == {"lib", "base", "fast"}
    assert "required by" in table(graph) and "metadata: pep658" in explain(graph)


def test_first_index_per_transitive_package_and_pins_for_direct_only() -> None:
    data: Data = {
        "a": {"dep": {"1.0": []}},
        "b": {"top": {"1.0": ["dep", "pinned"]}, "dep": {"9.0": []}, "pinned": {"2.0": []}},
        "x": {"top": {"0.5": ["dep", "pinned"]}, "pinned": {"1.0": []}},
    }
    sources = {"top": (SourcePin("x"),), "pinned": (SourcePin("x"),)}
    got = picks(run(["top"], data, sources=sources))
    assert got == {"top": ("0.5", "x"), "dep": ("1.0", "a"), "pinned": ("2.0", "b")}


def test_unsafe_best_match_merges_indexes() -> None:
    data: Data = {"a": {"dep": {"1.0": []}}, "b": {"dep": {"3.0": [], "1.0": []}}}
    assert picks(run(["dep"], data, "unsafe-best-match")) == {"dep": ("3.0", "b")}
    assert picks(run(["dep<2"], data, "unsafe-best-match")) == {"dep": ("1.0", "a")}
    assert picks(run(["dep"], data, "unsafe-first-match")) == {"dep": ("1.0", "a")}


def test_conflicts_and_missing_packages_are_reported() -> None:
    data: Data = {
        "b": {"x": {"1.0": ["core<2"]}, "y": {"1.0": ["core>=2"]}, "core": {"1.0": [], "2.0": []}}
    }
    graph = run(["x", "y"], data)
    (failure,) = graph.failures
    assert "no versions satisfy" in failure.reason and "core<2 (from x 1.0)" in failure.reason
    graph = run(["top"], {"b": {"top": {"1.0": ["ghost"]}}})
    (failure,) = graph.failures
    assert "ghost was not found on any index" in failure.reason
    graph = run(["ghost"], {})
    assert graph.failures[0].requirement == "ghost" and not graph.pins


def test_mislabelled_metadata_is_an_error() -> None:
    fake = Fake({"b": {"top": {"1.0": []}}})

    def lying(index: Index, file: DistFile) -> CoreMetadata:
        return CoreMetadata(canonicalize_name("other"), Version("1.0"), (), None, (), "wheel")

    graph = resolve_graph(["top"], Settings(indexes=(B,)), TARGET, fake, lying, workers=1)
    assert "mislabelled" in graph.failures[0].reason


def test_fallback_finds_what_the_search_order_does_not() -> None:
    data: Data = {"b": {"top": {"1.0": ["hidden"]}}, "x": {"hidden": {"1.0": []}}}
    fake = Fake(data)
    settings = Settings(indexes=(A, B, X))
    graph = resolve_graph(["top"], settings, TARGET, fake, fake.metadata, fallback=lambda name: [X])
    hidden = next(p for p in graph.pins if p.name == "hidden")
    assert hidden.index is X and hidden.fallback


def test_requires_python_from_metadata_rejects_a_candidate() -> None:
    fake = Fake({"b": {"top": {"1.0": []}, "dep": {"1.0": [], "2.0": []}}})

    def meta(index: Index, file: DistFile) -> CoreMetadata:
        m = fake.metadata(index, file)
        too_new = m.name == "dep" and str(m.version) == "2.0"
        requires = ("dep",) if m.name == "top" else ()
        return CoreMetadata(
            m.name, m.version, requires, ">=3.99" if too_new else None, (), "pep658"
        )

    graph = resolve_graph(["top"], Settings(indexes=(B,)), TARGET, fake, meta, workers=1)
    assert picks(graph) == {"top": ("1.0", "b"), "dep": ("1.0", "b")}
    graph = resolve_graph(["dep==2.0"], Settings(indexes=(B,)), TARGET, fake, meta, workers=1)
    assert "Requires-Python >=3.99 (target 3.12)" in graph.failures[0].reason
