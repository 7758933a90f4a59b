"""Results to text: the table, the ``--json`` document and the ``--explain`` trace. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keyring_idx.resolver.outcome import Resolved, Result, Skipped, Step, Unresolved


def to_json(
    results: Sequence[Result], header: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """``{"model": ..., "uv_version": ..., "packages": [...], "unresolved": [...]}``; never a
    secret, never URL userinfo."""
    return {
        **(header or {}),
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
            {"requirement": r.requirement, "reason": r.reason, "steps": _json_steps(r.steps)}
            for r in results
            if isinstance(r, Unresolved)
        ],
        "skipped": [
            {"requirement": r.requirement, "reason": r.reason}
            for r in results
            if isinstance(r, Skipped)
        ],
    }


def _json_steps(steps: Sequence[Step]) -> list[dict[str, object]]:
    return [
        {
            "index": s.index.display_url,
            "status": s.status,
            "credential": s.credential,
            "outcome": s.outcome,
        }
        for s in steps
    ]


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


def model_lines(header: Mapping[str, object] | None) -> list[str]:
    """The first lines of ``--explain``: which of uv's models, for which project, which uv."""
    if not header:
        return []
    project = header.get("project")
    where = f" for {project}" if project else ""
    out = [f"model: {header.get('model')}{where}, as uv {header.get('uv_version')} does"]
    picked = header.get("selected")
    if isinstance(picked, list) and picked:
        out.append("resolving: " + ", ".join(str(p) for p in picked))
    return out


def explain(results: Sequence[Result], header: Mapping[str, object] | None = None) -> str:
    out = model_lines(header)
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
