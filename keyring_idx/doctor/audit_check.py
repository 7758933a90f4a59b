"""Doctor's share of ``idx-auth audit``: the whole graph's dependency-confusion risks, one check
each, or one check saying there are none; an audit that cannot finish is a warning pointing at
``idx-auth audit`` (doctor builds no sdist: it runs no project code).

A package taken from the wrong index, or exposed by an unsafe strategy, fails; a claimable name
warns, as the collision check does under first-index: nothing goes wrong until someone
publishes the name (``idx-auth audit`` counts it as a risk all the same)."""

from __future__ import annotations

from collections.abc import Sequence

from keyring_idx.doctor.model import Check
from keyring_idx.resolver.audit_run import audit
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import Settings
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.select import host_target


def check_audit(
    client: IndexClient, settings: Settings, requirements: Sequence[str]
) -> list[Check]:
    """``requirements``: everything the project's lock resolves (all members, extras, groups)."""
    if not requirements:
        return [Check("audit", "ok", "no dependencies to audit")]
    try:
        result = audit(list(requirements), settings, host_target(), client, no_build=True)
    except ResolverError as exc:
        return [Check("audit", "warn", str(exc), "run `idx-auth audit` once the cause is fixed")]
    if not result.risks:
        return [
            Check(
                "audit",
                "ok",
                f"no dependency-confusion risk in the graph ({result.packages} packages over "
                f"{result.indexes} indexes)",
            )
        ]
    return [
        Check(
            f"audit[{r.package}]",
            "warn" if r.kind == "claimable" else "fail",
            f"{r.kind}: {r.detail}",
            "add to pyproject.toml: " + " / ".join(r.fix.splitlines()),
        )
        for r in result.risks
    ]
