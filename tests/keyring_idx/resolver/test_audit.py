"""The audit's rules as pure functions."""

from __future__ import annotations

from packaging.utils import NormalizedName, canonicalize_name

from keyring_idx.resolver.audit import Placed, find_risks, fix_lines
from keyring_idx.resolver.config import Index, Settings, SourcePin

CORP = Index(url="https://corp/simple", name="corp", explicit=True)
PUB = Index(url="https://pub/simple", name="pub", default=True)


def n(name: str) -> NormalizedName:
    return canonicalize_name(name)


def kinds(placed: list[Placed], serving: dict[str, list[Index]], **kw: object) -> list[str]:
    settings = Settings(indexes=(CORP, PUB), **kw)  # type: ignore[arg-type]
    direct = {n("corp-lib"), n("direct")}
    risks = find_risks(placed, {n(k): v for k, v in serving.items()}, settings, direct)
    return [f"{r.package}:{r.kind}" for r in risks]


def test_wrong_index() -> None:
    placed = [Placed(n("corp-util"), "9.9", PUB, ("corp-lib",))]
    assert kinds(placed, {"corp-util": [CORP, PUB]}) == ["corp-util:wrong-index"]


def test_unsafe_strategy_only_when_unpinned() -> None:
    placed = [Placed(n("direct"), "1", CORP)]
    serving = {"direct": [CORP, PUB]}
    assert kinds(placed, serving, strategy="unsafe-best-match") == ["direct:unsafe-strategy"]
    assert kinds(placed, serving) == []
    pins = {n("direct"): (SourcePin("corp"),)}
    assert kinds(placed, serving, strategy="unsafe-best-match", sources=pins) == []


def test_claimable() -> None:
    placed = [Placed(n("direct"), "1", CORP), Placed(n("deep"), "1", CORP, ("x",), True)]
    serving = {"direct": [CORP], "deep": [CORP]}
    assert kinds(placed, serving) == ["direct:claimable", "deep:claimable"]
    pins = {n("direct"): (SourcePin("corp"),), n("deep"): (SourcePin("corp"),)}
    # a pin protects a direct dependency only: uv ignores it for a transitive one
    assert kinds(placed, serving, sources=pins) == ["deep:claimable"]


def test_public_only_packages_are_no_risk() -> None:
    assert kinds([Placed(n("six"), "1", PUB)], {"six": [PUB]}) == []


def test_fix_lines() -> None:
    assert fix_lines(n("a"), CORP, True) == '[tool.uv.sources]\na = { index = "corp" }'
    unnamed = fix_lines(n("a"), Index(url="https://u:p@corp/simple"), False)
    assert unnamed.startswith('[[tool.uv.index]]\nname = "private"\nurl = "https://corp/simple"')
    assert 'dependencies = [..., "a"]' in unnamed and "u:p" not in unnamed
