"""Results to text: the table, the ``--json`` document and the ``--explain`` trace. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keyring_idx.resolver.outcome import Resolved, Result, Skipped, Step, Unresolved


def to_json(results: Sequence[Result]) -> dict[str, Any]:
    """``{"packages": [...], "unresolved": [...]}``; never a secret, never URL userinfo."""
    return {
        "packages": [
            {
                "name": r.name,
                "version": r.version,
                "index": r.index.display_url,
                "url": r.file.url,
                "hashes": list(r.hashes),
                "credential": r.credential,
            }
            for r in results
            if isinstance(r, Resolved)
        ],
        "unresolved": [
            {"requirement": r.requirement, "reason": r.reason}
            for r in results
            if isinstance(r, Unresolved)
        ],
        "skipped": [
            {"requirement": r.requirement, "reason": r.reason}
            for r in results
            if isinstance(r, Skipped)
        ],
    }


def table(results: Sequence[Result]) -> str:
    rows = [("package", "version", "index", "credential")]
    for r in results:
        if isinstance(r, Resolved):
            rows.append((r.name, r.version, r.index.name or r.index.display_url, r.credential))
        elif isinstance(r, Skipped):
            rows.append((r.name, "-", f"(skipped: {r.label})", "-"))
        else:
            rows.append((r.name or r.requirement, "-", "(unresolved)", "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def _step_line(step: Step) -> list[str]:
    status = str(step.status) if step.status is not None else "-"
    label = step.index.name or step.index.display_url
    lines = [
        f"  {label}: GET {step.url} -> {status}, credential: {step.credential}; "
        f"{step.outcome}: {step.detail}"
    ]
    lines += [f"      {note}" for note in step.notes]
    return lines


def explain(results: Sequence[Result]) -> str:
    out: list[str] = []
    for r in results:
        if isinstance(r, Skipped):
            out.append(f"{r.requirement}: skipped, {r.reason}")
            continue
        out.append(f"{r.requirement}:")
        for step in r.steps:
            out += _step_line(step)
        if isinstance(r, Resolved):
            where = r.index.name or r.index.display_url
            out.append(f"  => {r.name} {r.version} from {where} ({r.why}); file {r.file.filename}")
        else:
            out.append(f"  => unresolved: {r.reason}")
    return "\n".join(out)


def failures(results: Sequence[Result]) -> list[str]:
    return [f"{r.requirement}: {r.reason}" for r in results if isinstance(r, Unresolved)]
