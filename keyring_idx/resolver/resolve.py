"""Resolving requirements (no transitive dependencies yet) against the configured indexes.

The index walk for one package is :func:`resolve_one`, over a :class:`PageFetcher` (the HTTP
client, or a fake in tests); :func:`resolve_all` runs packages in parallel when the network is
slow enough for that to pay. Under ``first-index`` a package's indexes are asked one after
another (uv stops at the first answer); under the ``unsafe-*`` strategies, in parallel, all of
them at once. A dependency resolver can call :func:`resolve_one` per package as it discovers
them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from keyring_idx.resolver.client import PageResult
from keyring_idx.resolver.config import Index, Settings
from keyring_idx.resolver.errors import ConfigError, ResolverError
from keyring_idx.resolver.outcome import Resolved, Result, Skipped, Step, Unresolved
from keyring_idx.resolver.policy import classify, indexes_for
from keyring_idx.resolver.select import (
    Candidate,
    Choice,
    Target,
    VersionPolicy,
    candidates,
    choose,
    eligible,
    file_order,
)
from keyring_idx.resolver.simple import DistFile


class PageFetcher(Protocol):
    def page(self, index: Index, name: NormalizedName) -> PageResult: ...


@dataclass(frozen=True, slots=True)
class _Answer:
    """An index's page for a package, or why it could not be had."""

    page: PageResult | None
    error: str | None = None


def _ask(fetcher: PageFetcher, index: Index, name: NormalizedName) -> _Answer:
    try:
        return _Answer(fetcher.page(index, name))
    except ResolverError as exc:
        return _Answer(None, str(exc))


def _step(
    answer: _Answer, index: Index, outcome: str, detail: str, extra: Sequence[str] = ()
) -> Step:
    page = answer.page
    return Step(
        index=index,
        url=page.url if page else index.display_url,
        status=page.status if page else None,
        credential=page.credential if page else "none",
        outcome=outcome,
        detail=detail,
        notes=(*(page.notes if page else ()), *extra[:3]),
    )


def _label(index: Index) -> str:
    return index.name or index.display_url


@dataclass(frozen=True, slots=True)
class Wanted:
    """One package to resolve: every requirement on it that applies to the target, merged as
    uv merges them (specifiers intersected, constraints added, an override replacing them)."""

    name: NormalizedName
    requirement: str  # the requirement as given, or the merged one (``baz<3,>=1.5``)
    specifier: SpecifierSet
    url: str | None = None


def merge_requirements(
    texts: Sequence[str],
    target: Target,
    constraints: Sequence[str] = (),
    overrides: Sequence[str] = (),
) -> list[Wanted | Unresolved | Skipped]:
    """Requirements to packages, in first-seen order. Pure.

    A requirement whose marker is false for the target does not count; a package none of
    whose requirements count is :class:`Skipped`. ``constraints`` narrow a package that is
    required anyway; an ``override`` replaces every requirement on its package (uv's
    ``constraint-dependencies`` and ``override-dependencies``)."""
    env = dict(target.markers)

    def applies(req: Requirement) -> bool:
        return req.marker is None or req.marker.evaluate({**env, "extra": ""})

    out: dict[NormalizedName, list[Requirement]] = {}
    skipped: dict[NormalizedName, tuple[str, str]] = {}
    results: list[Wanted | Unresolved | Skipped] = []
    order: list[NormalizedName | Unresolved] = []
    for text in texts:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            order.append(Unresolved(text, None, f"not a valid requirement: {exc}"))
            continue
        name = canonicalize_name(req.name)
        if name not in out and name not in skipped:
            order.append(name)
        if applies(req):
            out.setdefault(name, []).append(req)
        else:
            skipped.setdefault(name, (text, f"marker {req.marker} is false for the target"))

    def side(items: Sequence[str]) -> dict[NormalizedName, list[Requirement]]:
        found: dict[NormalizedName, list[Requirement]] = {}
        for text in items:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue  # reported where the setting is read
            if applies(req):
                found.setdefault(canonicalize_name(req.name), []).append(req)
        return found

    extra_constraints, extra_overrides = side(constraints), side(overrides)
    for item in order:
        if isinstance(item, Unresolved):
            results.append(item)
            continue
        reqs = out.get(item)
        if not reqs:
            text, why = skipped[item]
            results.append(Skipped(text, item, why))
            continue
        merged = len(reqs) > 1 or item in extra_overrides or item in extra_constraints
        if item in extra_overrides:
            reqs = extra_overrides[item]
        spec = SpecifierSet()
        url = None
        for r in reqs:
            spec &= r.specifier
            url = url or r.url
        for c in extra_constraints.get(item, ()):
            spec &= c.specifier
        # a valid requirement either way: the graph and the lock read it back
        text = f"{item}{spec}" if merged and not url else str(reqs[0])
        results.append(Wanted(item, text, spec, url))
    return results


def policy_of(settings: Settings) -> VersionPolicy:
    return VersionPolicy(settings.prerelease, settings.resolution, settings.exclude_newer)


def resolve_one(
    text: str,
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    pool: Executor | None = None,
) -> Result:
    """Resolve one requirement string; ``pool`` lets unsafe strategies ask indexes at once."""
    (wanted,) = merge_requirements([text], target, settings.constraints, settings.overrides)
    if not isinstance(wanted, Wanted):
        return wanted
    return resolve_wanted(wanted, settings, target, fetcher, pool)


def resolve_wanted(
    wanted: Wanted,
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    pool: Executor | None = None,
) -> Result:
    """The version and index uv takes for one package: its index (a sources pin, else the
    search order, walked by the index strategy), then ``find-links`` merged in."""
    text, name = wanted.requirement, wanted.name
    if wanted.url:
        return Unresolved(text, name, "direct URL requirements are not resolved from indexes")
    try:
        indexes, why = indexes_for(name, settings, target.markers)
    except ConfigError as exc:
        return Unresolved(text, name, str(exc))
    if not indexes and why.startswith("tool.uv.sources"):
        return Skipped(text, name, why, label="not from an index")
    if settings.strategy == "first-index":
        walk = _first_index(name, indexes, settings, target, fetcher)
    else:
        answers: Sequence[_Answer]
        if pool is not None and len(indexes) > 1:
            answers = list(pool.map(lambda i: _ask(fetcher, i, name), indexes))
        else:
            answers = [_ask(fetcher, i, name) for i in indexes]
        walk = _unsafe(name, indexes, answers, settings, target)
    if walk.failure is not None:
        return Unresolved(text, name, walk.failure, tuple(walk.steps))
    flat, failure = _find_links(name, settings, target, fetcher, walk.steps)
    if failure is not None:
        return Unresolved(text, name, failure, tuple(walk.steps))
    return _choose(wanted, walk.found, flat, walk.steps, settings, why, indexes)


@dataclass
class _Walk:
    """What the indexes gave for one package: usable candidates per index that answered
    "found" (in order), the steps, and a failure that ends the search."""

    found: list[tuple[Index, PageResult, list[Candidate]]]
    steps: list[Step]
    failure: str | None = None


def _first_index(
    name: NormalizedName,
    indexes: Sequence[Index],
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
) -> _Walk:
    steps: list[Step] = []
    for index in indexes:
        answer = _ask(fetcher, index, name)
        page = answer.page
        if page is None:
            steps.append(_step(answer, index, "error", answer.error or ""))
            return _Walk([], steps, f"{_label(index)}: {answer.error}")
        if index.format == "flat":
            if not 200 <= page.status < 300:
                steps.append(_step(answer, index, "error", f"flat index gave {page.status}"))
                return _Walk([], steps, f"flat index {_label(index)} answered {page.status}")
            if not any(_named(f, name) for f in page.files):
                steps.append(_step(answer, index, "absent", "no files for the project"))
                continue
        else:
            outcome = classify(page.status, index, settings.strategy)
            if outcome == "absent":
                steps.append(_step(answer, index, "absent", f"{page.status}: look further"))
                continue
            if outcome == "stop":
                steps.append(
                    _step(answer, index, "stop", f"{page.status} ends the search (first-index)")
                )
                return _Walk([], steps, _stop_reason(index, page, name))
            if outcome == "error":
                steps.append(_step(answer, index, "error", f"{page.status} is an error"))
                return _Walk([], steps, f"{_label(index)} answered {page.status} for {name}")
        usable, notes = candidates(page.files, name, target)
        steps.append(_step(answer, index, "found", f"{len(usable)} usable files", notes))
        return _Walk([(index, page, usable)], steps)
    return _Walk([], steps)


def _stop_reason(index: Index, page: PageResult, name: NormalizedName) -> str:
    reason = (
        f"{_label(index)} answered {page.status} for {name}; first-index stops there "
        "(add it to ignore-error-codes, or fix the credentials)"
    )
    if page.advice:
        reason += f"; {page.advice}"
    return reason


def _unsafe(
    name: NormalizedName,
    indexes: Sequence[Index],
    answers: Sequence[_Answer],
    settings: Settings,
    target: Target,
) -> _Walk:
    found: list[tuple[Index, PageResult, list[Candidate]]] = []
    steps: list[Step] = []
    for index, answer in zip(indexes, answers, strict=True):
        page = answer.page
        if page is None:
            steps.append(_step(answer, index, "error", answer.error or ""))
            return _Walk([], steps, f"{_label(index)}: {answer.error}")
        ok = 200 <= page.status < 300
        if index.format == "flat":
            outcome = "found" if ok else "error"
        else:
            outcome = classify(page.status, index, settings.strategy)
        if outcome == "error":
            steps.append(_step(answer, index, "error", f"{page.status} is an error"))
            return _Walk([], steps, f"{_label(index)} answered {page.status} for {name}")
        if outcome == "absent":
            steps.append(_step(answer, index, "absent", f"{page.status}: counted as absent"))
            continue
        usable, notes = candidates(page.files, name, target)
        found.append((index, page, usable))
        steps.append(_step(answer, index, "found", f"{len(usable)} usable files", notes))
    return _Walk(found, steps)


Found = list[tuple[Index, PageResult, list[Candidate]]]


def _find_links(
    name: NormalizedName,
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    steps: list[Step],
) -> tuple[Found, str | None]:
    """Every find-links location's candidates (the fetcher fetches each listing once per
    run), or why one could not be read."""
    found: Found = []
    for index in settings.find_links:
        answer = _ask(fetcher, index, name)
        page = answer.page
        if page is None or not 200 <= page.status < 300:
            detail = answer.error or f"answered {page.status if page else '-'}"
            steps.append(_step(answer, index, "error", detail))
            return found, f"find-links {_label(index)}: {detail}"
        usable, notes = candidates(page.files, name, target)
        found.append((index, page, usable))
        steps.append(_step(answer, index, "found", f"{len(usable)} usable files", notes))
    return found, None


def _choose(
    wanted: Wanted,
    found: Found,
    flat: Found,
    walk_steps: list[Step],
    settings: Settings,
    why: str,
    indexes: Sequence[Index],
) -> Result:
    """uv's choice over what the walk found plus find-links: one version by the version
    policy over all of it; the index it comes from is a find-links location when one lists
    that version (uv prefers them on a tie), else the first index (``unsafe-best-match``: the
    first with that version; ``unsafe-first-match``: the first index with any allowed one)."""
    policy = policy_of(settings)
    name, text, spec = wanted.name, wanted.requirement, wanted.specifier
    if settings.strategy == "unsafe-first-match":
        for entry in found:
            if choose(spec, entry[2], policy) is not None:
                found = [entry]
                break
    sources = [*flat, *found]
    everything = [c for _, _, usable in sources for c in usable]
    overall = choose(spec, everything, policy)
    if overall is None:
        if not found and not flat:
            return Unresolved(
                text,
                name,
                f"{name} was not found on any index ({_tried(indexes)})",
                tuple(walk_steps),
            )
        where = ", ".join(_label(i) for i, _, _ in sources)
        detail = (
            "; first-index does not look at later indexes"
            if settings.strategy == "first-index"
            else ""
        )
        return Unresolved(
            text,
            name,
            f"no version of {name} on {where} matches {spec or 'any'} for the target{detail}",
            tuple(walk_steps),
        )
    for index, page, usable in sources:
        same = sorted(
            (c for c in eligible(spec, usable, policy) if c.version == overall.version),
            key=file_order,
        )
        if not same:
            continue
        choice = Choice(overall.version, same[0].file, tuple(c.file for c in same))
        if index.origin == "find-links":
            rule = "find-links"
        elif settings.strategy == "first-index":
            rule = why
        else:
            rule = f"{why}; {settings.strategy}"
        steps = [
            replace(st, outcome="chosen", detail=f"{choice.version} ({rule})")
            if st.index is index and st.outcome == "found"
            else st
            for st in walk_steps
        ]
        return _resolved(text, name, choice, index, page, rule, steps)
    raise AssertionError("the chosen version is on one of the sources")


def _resolved(
    text: str,
    name: NormalizedName,
    choice: Choice,
    index: Index,
    page: PageResult,
    why: str,
    steps: Sequence[Step],
) -> Resolved:
    return Resolved(
        requirement=text,
        name=name,
        version=str(choice.version),
        index=index,
        file=choice.best,
        files=choice.files,
        credential=page.credential,
        why=why,
        steps=tuple(steps),
    )


def _named(f: DistFile, name: NormalizedName) -> bool:
    usable_name = f.filename.split("-", 1)[0]
    return canonicalize_name(usable_name) == name


def _why_none(notes: Sequence[str]) -> str:
    return "; ".join(notes[:3]) if notes else "no file in range"


def _tried(indexes: Sequence[Index]) -> str:
    return "asked: " + ", ".join(_label(i) for i in indexes)


# Pages slower than this on average mean a network worth waiting on in parallel. Faster (a
# loopback or LAN index, a warm proxy), Python's own work per page (~0.5 ms) dominates and
# threads only add GIL hand-offs: on loopback 8 threads take longer than one.
SLOW_PAGE = 0.003


def _resolve_item(
    item: str | Wanted | Result,
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    pool: Executor | None = None,
) -> Result:
    if isinstance(item, str):
        return resolve_one(item, settings, target, fetcher, pool)
    if isinstance(item, Wanted):
        return resolve_wanted(item, settings, target, fetcher, pool)
    return item


def resolve_all(
    requirements: Sequence[str | Wanted | Result],
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    *,
    workers: int = 8,
    progress: Callable[[Result], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Result]:
    """Resolve each requirement; results in the order given.

    Requirements are resolved one after another while pages come back fast; once they do not
    (the average page time after the first requirement, which pays for connecting, passes
    :data:`SLOW_PAGE`), the rest run on ``workers`` threads, with the indexes of one package
    asked at once under the ``unsafe-*`` strategies.
    """
    results: list[Result] = []
    pages, spent = 0, 0.0
    for text in requirements:
        if workers > 1 and pages and spent / pages > SLOW_PAGE:
            break
        start = clock()
        result = _resolve_item(text, settings, target, fetcher)
        if results:
            spent += clock() - start
            pages += len(getattr(result, "steps", ()))
        results.append(result)
    rest = requirements[len(results) :]
    if rest:
        with (
            ThreadPoolExecutor(max_workers=min(workers, len(rest))) as outer,
            ThreadPoolExecutor(max_workers=workers) as inner,
        ):
            futures = [
                outer.submit(_resolve_item, r, settings, target, fetcher, inner) for r in rest
            ]
            results += [f.result() for f in futures]
    if progress is not None:
        for r in results:
            progress(r)
    return results
