"""The whole dependency graph: resolvelib backtracks, uv's rules decide what each package offers.

Which index serves a package, and which of its files are usable, is the per-package code
(:func:`~keyring_idx.resolver.resolve.resolve_one`, :mod:`~keyring_idx.resolver.select`): a
package's offer is every usable version on the index (or, under the ``unsafe-*`` strategies,
the indexes) that the per-package walk settles on. ``tool.uv.sources`` pins apply to the
requirements given (the project's direct dependencies) only, as in uv: a pinned package's own
dependencies are looked up in the search order.

Pages and metadata are fetched ahead on a thread pool: a package's dependencies' pages as soon
as its metadata is read, and the metadata of a package's preferred version as soon as its page
is, while resolvelib works through the graph one decision at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import (
    RequirementInformation,
    ResolutionImpossible,
    ResolutionTooDeep,
)

from keyring_idx.resolver.client import PageResult
from keyring_idx.resolver.config import Index, Settings
from keyring_idx.resolver.credentials import CredentialKind
from keyring_idx.resolver.errors import MetadataError, ResolverError
from keyring_idx.resolver.metadata import CoreMetadata
from keyring_idx.resolver.once import Once
from keyring_idx.resolver.outcome import Graph, Pin, Resolved, Skipped, Step, Unresolved
from keyring_idx.resolver.resolve import PageFetcher, policy_of, resolve_all, resolve_one
from keyring_idx.resolver.select import (
    Candidate,
    Target,
    allowed_versions,
    candidates,
    file_order,
    python_admits,
)
from keyring_idx.resolver.simple import DistFile

T = TypeVar("T")
MAX_ROUNDS = 20_000
DIRECT = "(direct)"  # required_by of a requirement given on the command line or the project
# A candidate whose metadata's Requires-Python excludes the target depends on this name, which
# nothing provides: resolvelib then backtracks past it, as uv does.
PYTHON = NormalizedName("<python>")


class PageCache:
    """A :class:`PageFetcher` that asks the network once per index and project in a run."""

    def __init__(self, fetcher: PageFetcher) -> None:
        self._fetcher = fetcher
        self._once = Once()

    def page(self, index: Index, name: NormalizedName) -> PageResult:
        return self._once.get((index.url, name), lambda: self._fetcher.page(index, name))


@dataclass(frozen=True, slots=True)
class Req:
    """A requirement as resolvelib sees it."""

    name: NormalizedName
    extras: frozenset[NormalizedName]
    specifier: SpecifierSet
    text: str
    # resolvelib asks for these tens of thousands of times per resolution: computed once
    key: str = field(init=False, compare=False)
    exact: bool = field(init=False, compare=False)  # an ``==``/``===`` pin without a wildcard
    # version text -> whether the specifier admits it; resolvelib re-checks every pin against
    # every requirement on it each round
    admits: dict[str, bool] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _key(self.name, self.extras))
        object.__setattr__(
            self,
            "exact",
            any(s.operator in ("==", "===") and "*" not in s.version for s in self.specifier),
        )
        object.__setattr__(self, "admits", {})


@dataclass(frozen=True, slots=True)
class Cand:
    """A version of a package from one index, as resolvelib sees it."""

    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName]
    index: Index
    files: tuple[DistFile, ...]  # usable files of the version, best first
    credential: CredentialKind
    key: str = field(init=False, compare=False)
    text: str = field(init=False, compare=False)  # the version as a string: a cheap dict key

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _key(self.name, self.extras))
        object.__setattr__(self, "text", str(self.version))


def _key(name: NormalizedName, extras: frozenset[NormalizedName]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True, slots=True)
class Offer:
    """What uv's rules let one package come from: versions best first, each with the index it
    comes from and its usable files."""

    name: NormalizedName
    versions: tuple[tuple[Version, Index, tuple[DistFile, ...], bool, CredentialKind], ...]
    why: str
    steps: tuple[Step, ...]
    problem: str | None = None  # why nothing is offered
    fallback: bool = False  # found only by the audit's look outside the search order


def _versions(
    name: NormalizedName, pages: Sequence[PageResult], target: Target, first_match: bool
) -> tuple[tuple[Version, Index, tuple[DistFile, ...], bool, PageResult], ...]:
    """Every usable version across ``pages`` (in index order): a version from the first index
    that has it; ``first_match`` keeps index order (uv's unsafe-first-match), else highest
    first."""
    seen: set[Version] = set()
    out: list[tuple[Version, Index, tuple[DistFile, ...], bool, PageResult]] = []
    for page in pages:
        usable, _ = candidates(page.files, name, target)
        by_version: dict[Version, list[Candidate]] = {}
        for c in usable:
            by_version.setdefault(c.version, []).append(c)
        block = []
        for version in sorted(by_version, reverse=True):
            if version in seen:
                continue
            seen.add(version)
            group = sorted(by_version[version], key=file_order)
            yanked = all(c.file.yanked for c in group)
            block.append((version, page.index, tuple(c.file for c in group), yanked, page))
        out += block
    if not first_match:
        out.sort(key=lambda v: v[0], reverse=True)
    return tuple(out)


class Walker:
    """Offers per package and metadata per candidate, computed once, fetched ahead."""

    def __init__(
        self,
        settings: Settings,
        target: Target,
        pages: PageFetcher,
        metadata: Callable[[Index, DistFile], CoreMetadata],
        pool: ThreadPoolExecutor,
        direct: Mapping[NormalizedName, Resolved],
        fallback: Callable[[NormalizedName], Sequence[Index]] | None = None,
    ) -> None:
        self.settings = settings
        self._unpinned = dataclasses.replace(settings, sources={})
        self.target = target
        self.pages = pages
        self._metadata = metadata
        self._pool = pool
        self._direct = direct
        self._fallback = fallback
        self._offers = Once()
        self._meta = Once()

    def offer(self, name: NormalizedName) -> Offer:
        return self._offers.get(name, lambda: self._offer(name))

    def prefetch(self, names: Iterable[NormalizedName]) -> None:
        for name in names:
            if not self._offers.started(name):
                self._pool.submit(self._quiet, self.offer, name)

    def metadata(self, cand: Cand) -> CoreMetadata:
        return self._meta.get(cand.files[0].url, lambda: self._read(cand.index, cand.files[0]))

    def _read(self, index: Index, file: DistFile) -> CoreMetadata:
        return self._metadata(index, file)

    @staticmethod
    def _quiet(fn: Callable[[T], object], arg: T) -> None:
        with contextlib.suppress(Exception):  # the resolver asks again and reports it then
            fn(arg)

    def _offer(self, name: NormalizedName) -> Offer:
        direct = self._direct.get(name)
        settings = self.settings if direct is not None else self._unpinned
        result = resolve_one(name, settings, self.target, self.pages)
        if isinstance(result, Skipped):
            return Offer(name, (), result.reason, (), problem=f"{name}: {result.reason}")
        found = [s.index for s in result.steps if s.outcome in ("found", "chosen")]
        why = direct.why if direct is not None else getattr(result, "why", "search order")
        fallback = False
        if not found and self._fallback is not None:
            found = list(self._fallback(name))
            fallback = bool(found)
            why = "not in the search order; found on " + ", ".join(
                i.name or i.display_url for i in found
            )
        if not found:
            reason = result.reason if isinstance(result, Unresolved) else "not found"
            return Offer(name, (), why, result.steps, problem=reason)
        # uv prefers a find-links file to an index's of the same version
        found.sort(key=lambda i: i.origin != "find-links")
        pages = [self.pages.page(index, name) for index in found]
        first_match = settings.strategy == "unsafe-first-match"
        versions = _versions(name, pages, self.target, first_match)
        offer = Offer(
            name,
            tuple((v, i, f, y, p.credential) for v, i, f, y, p in versions),
            why,
            result.steps,
            problem=None if versions else getattr(result, "reason", "no usable files"),
            fallback=fallback,
        )
        if versions:  # the likely pick: read its metadata while the resolver does other work
            _, index, files, _, _ = versions[0]
            self._pool.submit(self._quiet, lambda f: self._warm(index, f), files[0])
        return offer

    def _warm(self, index: Index, file: DistFile) -> None:
        """Read the metadata of a likely pick, then look ahead at its dependencies' pages: the
        graph loads in the background along the path the resolver will most likely take."""
        meta = self._meta.get(file.url, lambda: self._read(index, file))
        env = dict(self.target.markers) | {"extra": ""}
        names = []
        for text in meta.requires_dist:
            req = parsed(text)
            if req is None:
                continue  # reported when the resolver gets there
            if req.marker is None or req.marker.evaluate(env):
                names.append(canonicalize_name(req.name))
        self.prefetch(names)


class Provider(AbstractProvider[Req, Cand, str]):
    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.order: dict[str, int] = {}

    def identify(self, requirement_or_candidate: Req | Cand) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Cand],
        candidates: Mapping[str, Iterator[Cand]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Cand]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Cand]],
    ) -> tuple[bool, bool, int, str]:
        causes = {c.requirement.key for c in backtrack_causes}
        return self._preference(identifier, information, causes)

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Cand],
        candidates: Mapping[str, Iterator[Cand]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Cand]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Cand]],
    ) -> list[str]:
        """The one identifier :meth:`get_preference` ranks first: resolvelib then pins it
        without asking for each name's preference through its own mappings, once per name per
        round."""
        causes = {c.requirement.key for c in backtrack_causes}
        return [min(identifiers, key=lambda i: self._preference(i, information, causes))]

    def _preference(
        self,
        identifier: str,
        information: Mapping[str, Iterator[RequirementInformation[Req, Cand]]],
        causes: set[str],
    ) -> tuple[bool, bool, int, str]:
        # Backtrack causes first, then exact pins, then the order names were first seen in:
        # the requirements' order, as uv's resolver walks them.
        pinned = any(i.requirement.exact for i in information[identifier])
        order = self.order.setdefault(identifier, len(self.order))
        return (identifier not in causes, not pinned, order, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Cand]],
    ) -> list[Cand]:
        reqs = list(requirements[identifier])
        if not reqs or identifier == PYTHON:
            return []
        name, extras = reqs[0].name, reqs[0].extras
        offer = self.walker.offer(name)
        bad = {(c.version, c.index.url) for c in incompatibilities[identifier]}
        settings = self.walker.settings
        policy = policy_of(settings)
        spec = SpecifierSet()
        for r in reqs:
            spec &= r.specifier
        exact = any(r.exact for r in reqs)
        usable: list[tuple[Version, Index, tuple[DistFile, ...], CredentialKind]] = []
        for version, index, files, yanked, credential in offer.versions:
            if (yanked and not exact) or (version, index.url) in bad:
                continue
            admitted = tuple(f for f in files if policy.admits_upload(f.upload_time))
            if admitted:
                usable.append((version, index, admitted, credential))
        # uv's prerelease, resolution and exclude-newer rules, over what every requirement
        # on the package allows together
        allowed = allowed_versions(spec, [u[0] for u in usable], policy)
        rank = {v: i for i, v in enumerate(allowed)}
        out = [
            Cand(name, version, extras, index, files, credential)
            for version, index, files, credential in usable
            if version in rank
        ]
        if settings.strategy != "unsafe-first-match":
            out.sort(key=lambda c: rank[c.version])
        return out

    def is_satisfied_by(self, requirement: Req, candidate: Cand) -> bool:
        found = requirement.admits.get(candidate.text)
        if found is None:
            found = requirement.specifier.contains(candidate.version, prereleases=True)
            requirement.admits[candidate.text] = found
        return found

    def get_dependencies(self, candidate: Cand) -> list[Req]:
        meta = self.walker.metadata(candidate)
        what = f"{candidate.name} {candidate.version} ({candidate.files[0].filename})"
        if meta.name != candidate.name or meta.version != candidate.version:
            raise MetadataError(
                f"{what}: its metadata names {meta.name} {meta.version}; the index serves a "
                "mislabelled file"
            )
        env = dict(self.walker.target.markers)
        deps: list[Req] = []
        python = self.walker.target.python_version
        if meta.requires_python and not _admits(meta.requires_python, python):
            spec = SpecifierSet(meta.requires_python)
            return [Req(PYTHON, frozenset(), spec, f"Requires-Python {spec} (target {python})")]
        if candidate.extras:
            deps.append(
                Req(
                    candidate.name,
                    frozenset(),
                    SpecifierSet(f"=={candidate.version}"),
                    f"{candidate.name}=={candidate.version}",
                )
            )
        for text in meta.requires_dist:
            req = parsed(text)
            if req is None:
                raise MetadataError(f"{what}: Requires-Dist {text!r} is invalid")
            if req.url:
                raise MetadataError(
                    f"{what}: depends on a direct URL ({req.name} @ ...), which an index "
                    "package may not do"
                )
            if req.marker is None:
                if candidate.extras:
                    continue  # the base candidate brings these
            elif not any(
                req.marker.evaluate(env | {"extra": e}) for e in (candidate.extras or {""})
            ):
                continue
            deps.append(_req(req, text))
        self.walker.prefetch(d.name for d in deps)
        return deps


@lru_cache(maxsize=8192)
def parsed(text: str) -> Requirement | None:
    """A Requires-Dist line, parsed once per run (None: invalid). Many packages depend on the
    same few, and each line is read twice: looking ahead, then resolving. Read only."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _admits(requires_python: str, version: Version) -> bool:
    # the rule uv applies to a page's requires-python: its lower bound only
    return python_admits(requires_python, version)


def _req(req: Requirement, text: str) -> Req:
    return Req(
        canonicalize_name(req.name),
        frozenset(canonicalize_name(e) for e in req.extras),
        req.specifier,
        text,
    )


class _Reporter(BaseReporter[Req, Cand, str]):
    pass


def resolve_graph(
    requirements: Sequence[str],
    settings: Settings,
    target: Target,
    fetcher: PageFetcher,
    metadata: Callable[[Index, DistFile], CoreMetadata],
    *,
    workers: int = 8,
    fallback: Callable[[NormalizedName], Sequence[Index]] | None = None,
) -> Graph:
    """Resolve ``requirements`` and everything they depend on for ``target``.

    The requirements are first resolved one by one as today (so a requirement no index can
    serve is reported exactly as ``--no-deps`` reports it); then resolvelib resolves the graph.
    ``fallback`` (the audit's) names indexes outside the search order to take a package from
    when the search order has nothing for it.
    """
    pages = fetcher if isinstance(fetcher, PageCache) else PageCache(fetcher)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        tops = resolve_all(requirements, settings, target, pages, workers=workers)
        skipped = tuple(r for r in tops if isinstance(r, Skipped))
        failures = [r for r in tops if isinstance(r, Unresolved)]
        resolved = [r for r in tops if isinstance(r, Resolved)]
        if failures and fallback is None:
            return Graph((), skipped, tuple(failures))
        direct = {r.name: r for r in resolved}
        walker = Walker(settings, target, pages, metadata, pool, direct, fallback)
        roots: list[Req] = []
        # the audit goes on past failures: its fallback may find them
        for text in [r.requirement for r in resolved] + [
            u.requirement for u in failures if u.name is not None
        ]:
            roots.append(_req(Requirement(text), text))
        walker.prefetch(r.name for r in roots)
        provider = Provider(walker)
        try:
            result = Resolver(provider, _Reporter()).resolve(roots, max_rounds=MAX_ROUNDS)
        except ResolutionImpossible as exc:
            return Graph((), skipped, (_impossible(exc.causes, walker),))
        except ResolutionTooDeep:
            return Graph(
                (),
                skipped,
                (
                    Unresolved(
                        "(graph)",
                        None,
                        f"no resolution after {MAX_ROUNDS} rounds of backtracking; narrow the "
                        "requirements (for example pin the packages that conflict)",
                    ),
                ),
            )
        except ResolverError as exc:
            return Graph((), skipped, (Unresolved("(graph)", None, str(exc)),))
    return Graph(_pins(result.mapping, result.criteria, walker), skipped, ())


def _pins(
    mapping: Mapping[str, Cand], criteria: Mapping[str, object], walker: Walker
) -> tuple[Pin, ...]:
    parents: dict[NormalizedName, dict[str, None]] = {}
    asked: dict[NormalizedName, dict[str, None]] = {}
    for key, criterion in criteria.items():
        cand = mapping.get(key)
        if cand is None:
            continue
        for info in getattr(criterion, "information", ()):
            parent = info.parent.name if info.parent is not None else DIRECT
            if parent == cand.name:
                continue  # the extras candidate asking for its own base
            parents.setdefault(cand.name, {})[parent] = None
            asked.setdefault(cand.name, {})[f"{info.requirement.text} ({parent})"] = None
    pins: list[Pin] = []
    for cand in mapping.values():
        if cand.extras:
            continue
        offer = walker.offer(cand.name)
        meta = walker.metadata(cand)
        pins.append(
            Pin(
                name=cand.name,
                version=str(cand.version),
                index=cand.index,
                file=cand.files[0],
                files=cand.files,
                credential=cand.credential,
                required_by=tuple(parents.get(cand.name, {})),
                why=offer.why,
                steps=offer.steps,
                metadata_source=meta.source,
                requirements=tuple(asked.get(cand.name, {})),
                fallback=offer.fallback,
            )
        )
    pins.sort(key=lambda p: p.name)
    return tuple(pins)


def _impossible(given: Iterable[RequirementInformation[Req, Cand]], walker: Walker) -> Unresolved:
    causes = list(given)
    names = list(dict.fromkeys(c.requirement.name for c in causes if c.requirement.name != PYTHON))
    for name in names:
        offer = walker.offer(name)
        if offer.problem is not None:
            return Unresolved(name, name, offer.problem, offer.steps)
    parts = [
        f"{c.requirement.text} ("
        + (f"from {c.parent.name} {c.parent.version}" if c.parent else "direct")
        + ")"
        for c in causes
    ]
    return Unresolved(
        ", ".join(names) or "(graph)",
        names[0] if names else None,
        "no versions satisfy all of: " + "; ".join(parts),
    )
