"""``idx-auth token`` and ``idx-auth list`` answered by a running agent, before argparse loads.

A short command's time is nearly all imports: argparse, the store (tomllib, cryptography) and
the command modules cost several times what the lookup does. With an agent up, :func:`run`
answers the plain forms of ``token`` and ``list`` with the standard library and the agent's
transport alone. Anything else -- help, another spelling, no agent, a locked agent, a lookup
the agent does not answer -- returns None and the full command runs, which prints the same
answer or the full error message.
"""

from __future__ import annotations

import os
import sys

from store.agent import transport, wire

TYPE_CHECKING = False  # see store.agent.wire: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

TOKEN_USERNAME = "__token__"  # store.model.TOKEN_USERNAME, without importing the model
AGENT_TIMEOUT = 2.0


def run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int | None:
    """The exit code of ``idx-auth ARGV`` answered here, or None: run the full command."""
    if not argv or argv[0] not in ("token", "list"):
        return None
    env = os.environ if env is None else env
    address = transport.socket_path(env)
    if not os.path.exists(address):  # no agent: skip the connect, the full command reads
        return None
    if argv[0] == "token":
        return _token(argv[1:], address)
    return _list(argv[1:], address)


def token_args(argv: Sequence[str]) -> tuple[str, str] | None:
    """``(service, username)`` of ``token SERVICE [-u USER]``, or None for any other form.

    Only absolute http(s) URLs without userinfo: other forms (a bare host, ``user@`` in the
    URL) need the service parsing of the full command. Pure.
    """
    service: str | None = None
    username: str | None = None
    items = iter(argv)
    for arg in items:
        if arg in ("-u", "--username"):
            if username is not None:
                return None
            username = next(items, "")
        elif arg.startswith("--username="):
            if username is not None:
                return None
            username = arg.partition("=")[2]
        elif arg.startswith("-u") and len(arg) > 2:
            if username is not None:
                return None
            username = arg[2:]
        elif arg.startswith("-") or service is not None:
            return None
        else:
            service = arg
    if service is None or username == "" or (username or "").startswith("-"):
        return None
    lowered = service.lower()
    if not lowered.startswith(("http://", "https://")) or "@" in service:
        return None
    if any(c.isspace() or c == "\\" for c in service):
        return None
    return service, username or TOKEN_USERNAME


def _token(argv: Sequence[str], address: str) -> int | None:
    parsed = token_args(argv)
    if parsed is None:
        return None
    reply = _ask({"op": "get", "service": parsed[0], "username": parsed[1]}, address)
    found = None if reply is None else wire.credential(reply)
    if found is None:
        return None  # not found, locked, ambiguous: the full command says which
    sys.stdout.write(found[3] + "\n")
    return 0


def _list(argv: Sequence[str], address: str) -> int | None:
    if argv not in ([], ["--json"]):
        return None
    reply = _ask({"op": "list"}, address)
    if reply is None or reply.get("status") != wire.OK:
        return None
    data = reply.get("data")
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        return None  # the full command names the store that is empty
    rows = [row for row in map(list_row, entries) if row is not None]
    if len(rows) != len(entries):
        return None  # an agent of another version: the full command reads the file
    rows.sort(key=lambda r: (r["kind"] == "keyring", r["service"], r["username"] or ""))
    return print_entries(rows, as_json=bool(argv))


def list_row(info: object) -> dict[str, Any] | None:
    """One entry of the agent's ``list`` reply as ``list --json`` shows it, or None. Pure."""
    if not isinstance(info, dict):
        return None
    row = {
        "service": info.get("service"),
        "username": info.get("username"),
        "scheme": info.get("scheme"),
        "kind": info.get("kind"),
        "has_secret": info.get("has_secret"),
        "expires_at": info.get("expires_at"),
        "provider": info.get("refresh"),
    }
    texts = ("service", "scheme", "kind")
    optional = ("username", "expires_at", "provider")
    if not all(isinstance(row[k], str) for k in texts) or not isinstance(row["has_secret"], bool):
        return None
    if not all(row[k] is None or isinstance(row[k], str) for k in optional):
        return None
    return row


def print_entries(rows: Sequence[dict[str, Any]], *, as_json: bool) -> int:
    """``list``'s output, from the agent or from the file: JSON on stdout, else lines on stderr
    (never a secret: rows carry none)."""
    if as_json:
        import json

        json.dump(list(rows), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from store.redaction import printable  # names from the store: no terminal escapes

    for row in rows:
        extra = (
            f"  (keyring name, {row['scheme']})"
            if row["kind"] == "keyring"
            else f"  ({row['scheme']})"
        )
        if row["expires_at"]:
            extra += f"  expires {row['expires_at']}"
        print(printable(f"{row['username'] or '-':<24} {row['service']}{extra}"), file=sys.stderr)
    return 0


def _ask(body: dict[str, Any], address: str) -> dict[str, Any] | None:
    try:
        return transport.ask(body, AGENT_TIMEOUT, address)
    except (transport.AgentUnavailable, wire.ProtocolError, ValueError):
        return None
