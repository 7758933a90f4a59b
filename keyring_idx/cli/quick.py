"""``idx-auth token``, ``list`` and ``run`` answered by a running agent, before argparse loads.

A short command's time is nearly all imports: argparse, the store (tomllib, cryptography), the
resolver's settings code and the command modules cost several times what the lookup does. With
an agent up, :func:`run` answers the plain forms of ``token`` and ``list``, and ``run -- CMD``
whose targets a previous run remembered (:mod:`keyring_idx.run_cache`), with the standard
library and the agent's transport alone. Anything else -- help, another spelling, no agent, a
locked agent, a lookup the agent does not answer, a note to print -- returns None and the full
command runs, which prints the same answer or the full message.
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
    if not argv or argv[0] not in ("token", "list", "run"):
        return None
    env = os.environ if env is None else env
    address = transport.socket_path(env)
    if not os.path.exists(address):  # no agent: skip the connect, the full command reads
        return None
    if argv[0] == "token":
        return _token(argv[1:], address, env)
    if argv[0] == "run":
        return _run(argv[1:], address, env)
    return _list(argv[1:], address, env)


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


def _token(argv: Sequence[str], address: str, env: Mapping[str, str]) -> int | None:
    parsed = token_args(argv)
    if parsed is None:
        return None
    reply = _ask({"op": "get", "service": parsed[0], "username": parsed[1]}, address, env)
    found = None if reply is None else wire.credential(reply)
    if found is None:
        return None  # not found, locked, ambiguous: the full command says which
    sys.stdout.write(found[3] + "\n")
    return 0


def _list(argv: Sequence[str], address: str, env: Mapping[str, str]) -> int | None:
    if argv not in ([], ["--json"]):
        return None
    reply = _ask({"op": "list"}, address, env)
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


def run_args(argv: Sequence[str]) -> tuple[str | None, list[str]] | None:
    """``(project, command)`` of ``run [--project DIR] -- COMMAND...``, or None. Pure."""
    project: str | None = None
    rest = list(argv)
    if rest[:1] == ["--project"] and len(rest) > 1:
        project, rest = rest[1], rest[2:]
    elif rest[:1] and rest[0].startswith("--project="):
        project, rest = rest[0].partition("=")[2], rest[1:]
    if rest[:1] != ["--"] or len(rest) < 2 or project == "":
        return None
    return project, rest[1:]


def _run(argv: Sequence[str], address: str, env: Mapping[str, str]) -> int | None:
    prepared = prepare_run(argv, address, env)
    if prepared is None:
        return None
    command, child_env = prepared
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, child_env)
    except OSError:
        return None  # the full command reports it (not found, not executable)


def prepare_run(
    argv: Sequence[str], address: str, env: Mapping[str, str]
) -> tuple[list[str], dict[str, str]] | None:
    """The command and its environment, when remembered targets and the agent answer all."""
    from keyring_idx import run_cache

    parsed = run_args(argv)
    if parsed is None:
        return None
    project, command = parsed
    project_dir = os.path.realpath(project or ".")
    if not os.path.isdir(project_dir):
        return None
    runtime = os.path.dirname(address)
    rows = run_cache.load(
        runtime,
        run_cache.key(project_dir, command, env),
        run_cache.config_paths(project_dir, env),
    )
    if rows is None:
        return None
    variables: dict[str, str] = {}
    answers: dict[tuple[str, str | None], tuple[str, str | None, str, str] | None] = {}
    for _tool, _label, url, user_var, password_var, fixed_user in rows:
        given = env.get(user_var) or None
        if given is not None and env.get(password_var):
            continue  # the caller's own pair
        username = given or fixed_user
        if (url, username) not in answers:
            reply = _ask({"op": "get", "service": url, "username": username}, address, env)
            answers[(url, username)] = None if reply is None else wire.credential(reply)
        found = answers[(url, username)]
        if found is None or found[1] is None or found[2] != "basic":
            return None  # nothing stored, locked, ambiguous, a bearer token: the full command
        variables[user_var] = found[1]
        variables[password_var] = found[3]
    return command, {**env, **variables}


def _ask(body: dict[str, Any], address: str, env: Mapping[str, str]) -> dict[str, Any] | None:
    # Naming our store makes an agent of another store answer other_store, not its secrets;
    # any reply but ok sends the command down the full path, which reads our own file.
    try:
        return transport.ask(body, AGENT_TIMEOUT, address, store=transport.store_file(env))
    except (transport.AgentUnavailable, wire.ProtocolError, ValueError):
        return None
