"""``idx-auth agent / status / lock / unlock / setup systemd``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keyring_idx.cli.base import CliError, emit_json, say
from store.agent import client
from store.agent import protocol as p
from store.dirs import resolve_dirs

if TYPE_CHECKING:
    import logging

    from store.dirs import Dirs

AGENT_DOWN = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser("agent", help="Run the credential agent in the foreground")
    a.add_argument(
        "--idle",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="lock a passphrase store after this long unused (default 600)",
    )
    a.add_argument(
        "--max",
        type=float,
        default=7200.0,
        metavar="SECONDS",
        help="lock a passphrase store this long after unlocking, used or not (default 7200)",
    )
    a.add_argument("-v", "--verbose", action="store_true", help="log each start/stop in detail")
    a.set_defaults(func=cmd_agent)

    s = sub.add_parser("status", help="Show whether the agent runs, is locked, and the store")
    s.add_argument("--json", action="store_true", help="print JSON on stdout")
    s.set_defaults(func=cmd_status)

    lk = sub.add_parser("lock", help="Make the agent forget the store's key")
    lk.set_defaults(func=cmd_lock)

    un = sub.add_parser(
        "unlock",
        help="Give the agent the store's key (passphrase from a TTY prompt or "
        "IDX_AUTH_PASSPHRASE_FILE)",
    )
    un.set_defaults(func=cmd_unlock)


def add_setup_systemd(targets: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``idx-auth setup systemd``; the ``setup`` command itself lives in cli/setup.py."""
    sd = targets.add_parser(
        "systemd", help="Install the agent's systemd user units and the refresh timer"
    )
    sd.add_argument("--force", action="store_true", help="overwrite differing unit files")
    sd.add_argument(
        "--unit-dir",
        type=Path,
        default=None,
        help="where to install (default $XDG_CONFIG_HOME/systemd/user)",
    )
    sd.set_defaults(func=cmd_setup_systemd)


# --- agent ------------------------------------------------------------------------------------


def cmd_agent(args: argparse.Namespace) -> int:
    import logging

    from store.agent.cached_store import CachedStore
    from store.agent.daemon import run_agent

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="idx-auth agent: %(message)s",
        stream=sys.stderr,
    )
    # httpcore's DEBUG trace prints response headers, which can carry tokens (Set-Cookie).
    logging.getLogger("httpcore").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_one_clean_line)
    if args.idle <= 0 or args.max <= 0:
        raise CliError("--idle and --max must be positive numbers of seconds")
    dirs = resolve_dirs()
    return run_agent(CachedStore(dirs), dirs.socket, idle=args.idle, maximum=args.max)


def _one_clean_line(record: logging.LogRecord) -> bool:
    """Every agent log line as it reaches the journal: one line, control characters escaped,
    credentials after an auth scheme word scrubbed -- a username or a provider's text in it
    can neither forge a line nor leak a token."""
    from store.redaction import printable, scrub

    record.msg = printable(scrub(record.getMessage()))
    record.args = None
    return True


# --- status / lock / unlock -------------------------------------------------------------------


def _ask(message: p.Request, timeout: float = 5.0) -> p.Reply:
    dirs = resolve_dirs()
    path = str(dirs.socket)
    try:
        return client.request(message, timeout=timeout, path=path, store=str(dirs.store_file))
    except client.OtherStore as exc:
        raise CliError(
            f"{exc}, not {dirs.store_file}; start an agent for this store with its own "
            "IDX_AUTH_RUNTIME_DIR",
            AGENT_DOWN,
        ) from None
    except client.AgentUnavailable:
        raise CliError(
            f"no agent is running on {path}; start it with `idx-auth agent` "
            "or `systemctl --user start idx-auth-agent.socket`",
            AGENT_DOWN,
        ) from None


def cmd_status(args: argparse.Namespace) -> int:
    dirs = resolve_dirs()
    other: str | None = None
    try:
        reply: p.Reply | None = client.request(
            p.Status(), timeout=5.0, path=str(dirs.socket), store=str(dirs.store_file)
        )
    except client.OtherStore as exc:
        reply, other = None, exc.store
    except client.AgentUnavailable:
        reply = None
    if reply is None or not reply.ok:
        listed = _file_entries()
        status: dict[str, Any] = {
            "agent": "not running",
            "socket": str(dirs.socket),
            "locked": None,
            "store": str(dirs.store_file),
            "entry_count": _count_entries(dirs.store_file) if listed is None else len(listed),
            "entries": listed,
            "refreshing": False,
        }
        if other is not None:
            status["other_agent_store"] = other  # the socket's agent serves that store
    else:
        status = {"agent": "running", "socket": str(dirs.socket), **reply.data}
        status["entries"] = _all_pages(reply, dirs)
        status.pop("next", None)
    if args.json:
        emit_json(status)
    else:
        _print_status(status)
    usable = status["agent"] == "running" and status["locked"] is False
    return 0 if usable else AGENT_DOWN


def _all_pages(first: p.Reply, dirs: Dirs) -> list[Any] | None:
    """Every entry of a paged status reply: the first page, then the rest from ``next``."""
    entries = first.data.get("entries")
    if not isinstance(entries, list):
        return None
    after = first.data.get("next")
    while isinstance(after, int) and not isinstance(after, bool) and after > 0:
        try:
            reply = client.request(
                p.Status(after), timeout=5.0, path=str(dirs.socket), store=str(dirs.store_file)
            )
        except client.AgentUnavailable:
            break
        more = reply.data.get("entries") if reply.ok else None
        if not isinstance(more, list) or not more:
            break  # the store shrank meanwhile, or the agent went away: show what we have
        entries.extend(more)
        following = reply.data.get("next")
        # Pages only move forward: a reply that does not is not followed (no endless loop).
        if not isinstance(following, int) or following <= after:
            break
        after = following
    return entries


def _count_entries(store_file: Path) -> int | None:
    """Entries in the file without the key: service names and usernames are not encrypted."""
    import tomllib

    try:
        with store_file.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return 0
    except (OSError, tomllib.TOMLDecodeError):
        return None
    entries = data.get("credential", [])
    return len(entries) if isinstance(entries, list) else None


def _file_entries() -> list[dict[str, Any]] | None:
    """Entries as the file shows them (no key needed: only secrets are encrypted); the next
    refresh is when the token falls due (the timer's `refresh --due`, or a lookup near
    expiry). None if the file cannot be read."""
    from dataclasses import asdict, replace

    from store.errors import StoreError
    from store.listing import entry_info
    from store.refresh import schedule
    from store.refresh.state import format_time, stored_state
    from store.vault import Vault

    try:
        doc = Vault().read_for_listing()
    except StoreError:
        return None
    listed = []
    for entry in doc.entries:
        info = entry_info(entry)
        token = stored_state(entry).token if entry.refresh else None
        if token is not None:
            info = replace(info, next_refresh=format_time(schedule.due_at(token)))
        listed.append(asdict(info))
    return listed


def _print_status(status: dict[str, Any]) -> None:
    if status.get("other_agent_store"):
        say(
            f"agent: none for this store (the agent on {status['socket']} serves "
            f"{status['other_agent_store']})"
        )
    elif status["agent"] != "running":
        say(f"agent: not running (socket {status['socket']})")
    else:
        state = "locked" if status["locked"] else "unlocked"
        extra = ""
        if status.get("locks_in") is not None:
            extra = f", locks in {status['locks_in']:.0f} s unless used"
        say(f"agent: running, pid {status.get('pid')}, {state}{extra} (socket {status['socket']})")
        if status.get("last_error"):
            say(f"last error: {status['last_error']}")
    say(f"store: {status['store']}")
    count = status.get("entry_count")
    say(f"entries: {'unknown' if count is None else count}")
    for entry in status.get("entries") or ():
        if entry.get("refresh"):
            say(_refresh_line(entry, status["agent"] == "running"))


def _refresh_line(entry: dict[str, Any], agent: bool) -> str:
    who = entry["service"]
    if entry.get("username"):
        who = f"{entry['username']}@{who}"
    parts = [f"  {who} ({entry['refresh']}): expires {entry.get('expires_at') or 'never fetched'}"]
    parts.append(f"refreshed {entry.get('refreshed_at') or 'never'}")
    if entry.get("next_refresh"):
        parts.append(f"{'next refresh' if agent else 'due'} {entry['next_refresh']}")
    if entry.get("last_error"):
        failures = entry.get("failures") or 0
        parts.append(f"last error ({failures} in a row): {entry['last_error']}")
    return ", ".join(parts)


def cmd_lock(args: argparse.Namespace) -> int:
    reply = _ask(p.Lock())
    if not reply.ok:
        raise CliError(f"the agent could not lock: {reply.message}")
    say("agent locked")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    status = _ask(p.Status())
    if not status.ok:
        raise CliError(f"the agent did not answer status: {status.message}", AGENT_DOWN)
    passphrase = _passphrase() if status.data.get("needs_passphrase") else None
    # A KDF runs in the agent: give it time.
    reply = _ask(p.Unlock(passphrase), timeout=60.0)
    if not reply.ok:
        raise CliError(f"unlock failed: {reply.message}")
    say("agent unlocked")
    return 0


def _passphrase() -> str:
    # The one reader (store.keys): the first line of IDX_AUTH_PASSPHRASE_FILE, else a prompt
    # on the terminal, else a clear error; the same rule as reading a passphrase store.
    from store import keys

    return keys.passphrase_reader()(False)


# --- setup systemd ----------------------------------------------------------------------------


def exec_path() -> str:
    """The idx-auth command of the running install, as an absolute path."""
    beside = Path(sys.executable).parent / "idx-auth"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("idx-auth")
    if found:
        return str(Path(found).resolve())
    # -P: a user unit starts in $HOME, and `-m` would otherwise import from there first.
    return f"{sys.executable} -P -m keyring_idx.cli"


def cmd_setup_systemd(args: argparse.Namespace) -> int:
    from store.agent.units import REFRESH_TIMER_UNIT, SOCKET_UNIT, render

    TIMER_HINT = f"systemctl --user enable --now {REFRESH_TIMER_UNIT}"

    unit_dir: Path = args.unit_dir or _user_unit_dir()
    command = exec_path()
    # `python -m` has a space between program and arguments: keep those unquoted.
    units = render(command) if " -m " not in command else _render_module(command)
    clashes = [
        name
        for name, text in units.items()
        if (unit_dir / name).exists() and (unit_dir / name).read_text() != text
    ]
    if clashes and not args.force:
        raise CliError(
            f"{', '.join(str(unit_dir / n) for n in clashes)} already exist(s) with different "
            "content; rerun with --force to overwrite"
        )
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        target = unit_dir / name
        tmp = target.with_name(f".{name}.tmp")
        tmp.write_text(text)
        tmp.replace(target)
        say(f"wrote {target}")
    say("now run:")
    print("systemctl --user daemon-reload")
    print(f"systemctl --user enable --now {SOCKET_UNIT}")
    say(f"(without the agent, refresh tokens from a timer instead: {TIMER_HINT})")
    return 0


def _render_module(command: str) -> dict[str, str]:
    from store.agent.units import render

    python, _, rest = command.partition(" ")
    units = render(python)
    return {
        name: text.replace(f"ExecStart={python} ", f"ExecStart={python} {rest} ")
        for name, text in units.items()
    }


def _user_unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"
