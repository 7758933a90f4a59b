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
from dataclasses import dataclass
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from keyring_idx.resolver.client import PageResult
from keyring_idx.resolver.config import Index, Settings
from keyring_idx.resolver.errors import ConfigError, ResolverError
from keyring_idx.resolver.outcome import Resolved, Result, Skipped, Step, Unresolved
from keyring_idx.resolver.policy import classify, indexes_for
from keyring_idx.resolver.select import Candidate, Choice, Target, candidates, choose
from keyring_idx.resolver.simple import DistFile


class PageFetcher(Protocol):
    def page(self, index: Index, name: NormalizedName) -> PageResult: ...


@dataclass(frozen=True, slots=True)
class _Answer:
    page: PageResult | None
    error: str | None = None


def _ask(fetcher: PageFetcher, index: Index, name: NormalizedName) -> _Answer:
    try:
        return _Answer(fetcher.page(index, name))
    except ResolverError as exc:
        return _Answer(None, str(exc))


def _step(answer: _Answer, index: Index, outcome: str, detail: str) -> Step:
    page = answer.page
    return Step(
        index=index,
        url=page.url if page else index.display_url,
        status=page.status if page else None,
        credential=page.credential if page else "none",
        outcome=outcome,
        detail=detail,
        notes=page.notes if page else (),
    )


def _label(index: Index) -> str:
    return index.name or index.display_url


def resolve_one(
    text: str,
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    pool: Executor | None = None,
) -> Result:
    """Resolve one requirement string; ``pool`` lets unsafe strategies ask indexes at once."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return Unresolved(text, None, f"not a valid requirement: {exc}")
    name = canonicalize_name(req.name)
    if req.url:
        return Unresolved(text, name, "direct URL requirements are not resolved from indexes")
    if req.marker is not None and not req.marker.evaluate(dict(target.markers)):
        return Skipped(text, name, f"marker {req.marker} is false for the target")
    try:
        indexes, why = indexes_for(name, settings, target.markers)
    except ConfigError as exc:
        return Unresolved(text, name, str(exc))
    if not indexes:
        return Skipped(text, name, why, label="not from an index")
    if settings.strategy == "first-index":
        return _first_index(text, req, name, indexes, why, settings, target, fetcher)
    answers: Sequence[_Answer]
    if pool is not None and len(indexes) > 1:
        answers = list(pool.map(lambda i: _ask(fetcher, i, name), indexes))
    else:
        answers = [_ask(fetcher, i, name) for i in indexes]
    return _unsafe(text, req, name, indexes, answers, why, settings, target)


def _first_index(
    text: str,
    req: Requirement,
    name: NormalizedName,
    indexes: Sequence[Index],
    why: str,
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
) -> Result:
    steps: list[Step] = []
    for index in indexes:
        answer = _ask(fetcher, index, name)
        page = answer.page
        if page is None:
            steps.append(_step(answer, index, "error", answer.error or ""))
            return Unresolved(text, name, f"{_label(index)}: {answer.error}", tuple(steps))
        if index.format == "flat":
            if not page.status or not 200 <= page.status < 300:
                steps.append(_step(answer, index, "error", f"flat index gave {page.status}"))
                return Unresolved(
                    text, name, f"flat index {_label(index)} answered {page.status}", tuple(steps)
                )
            usable, notes = candidates(page.files, name, target)
            if not any(_named(f, name) for f in page.files):
                steps.append(_step(answer, index, "absent", "no files for the project"))
                continue
            outcome = "found"
        else:
            outcome = classify(page.status, index, settings.strategy)
            if outcome == "absent":
                steps.append(_step(answer, index, "absent", f"{page.status}: look further"))
                continue
            if outcome == "stop":
                steps.append(
                    _step(answer, index, "stop", f"{page.status} ends the search (first-index)")
                )
                return Unresolved(
                    text,
                    name,
                    f"{_label(index)} answered {page.status} for {name}; first-index stops "
                    "there (add it to ignore-error-codes, or fix the credentials)",
                    tuple(steps),
                )
            if outcome == "error":
                steps.append(_step(answer, index, "error", f"{page.status} is an error"))
                return Unresolved(
                    text, name, f"{_label(index)} answered {page.status} for {name}", tuple(steps)
                )
            usable, notes = candidates(page.files, name, target)
        choice = choose(req, usable, _prereleases(req, usable))
        if choice is None:
            steps.append(_step(answer, index, "found", "no matching version: " + _why_none(notes)))
            return Unresolved(
                text,
                name,
                f"no version of {name} on {_label(index)} matches {req.specifier or 'any'} for "
                "the target; first-index does not look at later indexes",
                tuple(steps),
            )
        steps.append(_step(answer, index, "chosen", f"{choice.version} ({why})"))
        return _resolved(text, name, choice, index, page, why, steps)
    return Unresolved(
        text, name, f"{name} was not found on any index ({_tried(indexes)})", tuple(steps)
    )


def _unsafe(
    text: str,
    req: Requirement,
    name: NormalizedName,
    indexes: Sequence[Index],
    answers: Sequence[_Answer],
    why: str,
    settings: Settings,
    target: Target,
) -> Result:
    per_index: list[tuple[Index, PageResult, list[Candidate]]] = []
    steps: list[Step] = []
    for index, answer in zip(indexes, answers, strict=True):
        page = answer.page
        if page is None:
            steps.append(_step(answer, index, "error", answer.error or ""))
            return Unresolved(text, name, f"{_label(index)}: {answer.error}", tuple(steps))
        ok = 200 <= page.status < 300
        if index.format == "flat":
            outcome = "found" if ok else "error"
        else:
            outcome = classify(page.status, index, settings.strategy)
        if outcome == "error":
            steps.append(_step(answer, index, "error", f"{page.status} is an error"))
            return Unresolved(
                text, name, f"{_label(index)} answered {page.status} for {name}", tuple(steps)
            )
        if outcome == "absent":
            steps.append(_step(answer, index, "absent", f"{page.status}: counted as absent"))
            continue
        usable, _ = candidates(page.files, name, target)
        per_index.append((index, page, usable))
        steps.append(_step(answer, index, "found", f"{len(usable)} usable files"))
    everything = [c for _, _, usable in per_index for c in usable]
    prereleases = _prereleases(req, everything)
    best: tuple[Choice, Index, PageResult] | None = None
    for index, page, usable in per_index:
        choice = choose(req, usable, prereleases)
        if choice is None:
            continue
        if best is None or choice.version > best[0].version:
            best = (choice, index, page)
        if settings.strategy == "unsafe-first-match":
            break
    if best is None:
        return Unresolved(
            text,
            name,
            f"no version of {name} matching {req.specifier or 'any'} on any index "
            f"({_tried(indexes)})",
            tuple(steps),
        )
    choice, index, page = best
    rule = (
        "first index with a match"
        if settings.strategy == "unsafe-first-match"
        else ("highest version across indexes")
    )
    steps = [
        Step(
            s.index, s.url, s.status, s.credential, "chosen", f"{choice.version} ({rule})", s.notes
        )
        if s.index is index and s.outcome == "found"
        else s
        for s in steps
    ]
    return _resolved(text, name, choice, index, page, f"{why}; {settings.strategy}", steps)


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


def _prereleases(req: Requirement, usable: Sequence[Candidate]) -> bool:
    from keyring_idx.resolver.select import prereleases_allowed

    return prereleases_allowed(req.specifier, [c.version for c in usable])


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


def resolve_all(
    requirements: Sequence[str],
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
        result = resolve_one(text, settings, target, fetcher)
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
            futures = [outer.submit(resolve_one, r, settings, target, fetcher, inner) for r in rest]
            results += [f.result() for f in futures]
    if progress is not None:
        for r in results:
            progress(r)
    return results
