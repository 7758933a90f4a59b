"""Doctor's output: one line per check for people, ``{"checks": [...]}`` for scripts. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from keyring_idx.doctor.model import VERDICTS, Check


def exit_code(checks: Sequence[Check]) -> int:
    """0 when nothing failed (warnings included), 1 when any check failed."""
    return 1 if any(c.verdict == "fail" for c in checks) else 0


def to_json(checks: Sequence[Check]) -> dict[str, Any]:
    return {"checks": [c.to_json() for c in checks]}


def lines(checks: Sequence[Check]) -> list[str]:
    out = []
    for c in checks:
        line = f"{c.verdict:<4}  {c.name}: {c.detail}"
        if c.fix and c.verdict != "ok":
            line += f"  -> fix: {c.fix}"
        out.append(line)
    counts = Counter(c.verdict for c in checks)
    out.append("doctor: " + ", ".join(f"{counts[v]} {v}" for v in reversed(VERDICTS)))
    return out
