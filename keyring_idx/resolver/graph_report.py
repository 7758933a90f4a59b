"""A resolved graph to text: the table, ``--json`` and ``--explain``. Pure.

``--json`` keeps the keys of the per-requirement view (name, version, index, url, hashes,
credential) and adds file, hash and required_by; never a secret, never URL userinfo.
"""

from __future__ import annotations

from typing import Any

from keyring_idx.resolver.config import strip_userinfo
from keyring_idx.resolver.outcome import Graph
from keyring_idx.resolver.report import _step_line


def to_json(graph: Graph) -> dict[str, Any]:
    return {
        "packages": [
            {
                "name": p.name,
                "version": p.version,
                "index": p.index.display_url,
                "file": p.file.filename,
                "url": strip_userinfo(p.file.url),
                "hash": next((f"{k}:{v}" for k, v in p.file.hashes), None),
                "hashes": list(p.hashes),
                "required_by": list(p.required_by),
                "credential": p.credential,
            }
            for p in graph.pins
        ],
        "unresolved": [{"requirement": r.requirement, "reason": r.reason} for r in graph.failures],
        "skipped": [{"requirement": r.requirement, "reason": r.reason} for r in graph.skipped],
    }


def table(graph: Graph) -> str:
    rows = [("package", "version", "index", "credential", "required by")]
    for p in graph.pins:
        label = p.index.name or p.index.display_url
        rows.append((p.name, p.version, label, p.credential, ", ".join(p.required_by)))
    for s in graph.skipped:
        rows.append((s.name, "-", f"(skipped: {s.label})", "-", "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def explain(graph: Graph) -> str:
    out: list[str] = []
    for p in graph.pins:
        where = p.index.name or p.index.display_url
        out.append(f"{p.name} {p.version}:")
        for step in p.steps:
            out += _step_line(step)
        out.append(f"  index: {where} ({p.why})")
        out.append(
            "  version: chosen within "
            + (", ".join(p.requirements) or "no constraint")
            + f"; required by {', '.join(p.required_by) or '-'}"
        )
        out.append(f"  file: {p.file.filename} (metadata: {p.metadata_source})")
    for s in graph.skipped:
        out.append(f"{s.requirement}: skipped, {s.reason}")
    for f in graph.failures:
        out.append(f"{f.requirement}:")
        for step in f.steps:
            out += _step_line(step)
        out.append(f"  => unresolved: {f.reason}")
    return "\n".join(out)
