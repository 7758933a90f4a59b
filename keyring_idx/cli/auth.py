"""``idx-auth login / logout / token / dir / list / import / export / rekey``.

``login``, ``logout``, ``token`` and ``dir`` take exactly ``uv auth``'s arguments and follow its
URL rules; secrets come only from stdin (``-``) or a TTY prompt.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from keyring_idx.cli import quick
from keyring_idx.cli import refresh as refresh_cli
from keyring_idx.cli.base import CliError, Sub, say
from keyring_idx.cli.secrets import from_flag, username_prompt
from store import service
from store.agent import client
from store.agent import protocol as p
from store.dirs import resolve_dirs
from store.errors import NotFoundError
from store.model import TOKEN_USERNAME, Entry

if TYPE_CHECKING:
    from store.model import Document
    from store.sealing import Sealer
    from store.vault import Vault

# The store's heavy modules (cryptography, tomllib) load inside the handlers that need them, so
# `idx-auth --help` and commands that never open the store do not pay for them.


def _vault() -> Vault:
    from store.vault import Vault

    return Vault()


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "login",
        help="Store credentials for an index (uv auth login)",
        description="Store credentials for SERVICE, encrypted. Flags and URL rules are uv auth "
        "login's: a trailing /simple or /+simple is dropped; secrets come from stdin ('-') or a "
        "terminal prompt, never the command line. With --project, for every index the "
        "project declares in [tool.idx-auth.indexes.NAME] (docs/vault.md).",
    )
    p.add_argument(
        "service", metavar="SERVICE", nargs="?", help="index URL or host (https:// if omitted)"
    )
    add_login_arguments(p)
    p.add_argument(
        "--project",
        metavar="DIR",
        nargs="?",
        const=".",
        help="log in to every index declared in DIR's pyproject.toml (default: here)",
    )
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("logout", help="Remove stored credentials (uv auth logout)")
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("-u", "--username", help=f"username (default: {TOKEN_USERNAME})")
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser(
        "token",
        help="Print the secret stored for a URL on stdout (uv auth token)",
        description="Print the password or token that a request to SERVICE would use "
        "(longest stored path prefix wins).",
    )
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("-u", "--username", help=f"username (default: {TOKEN_USERNAME})")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("dir", help="Print the directory that holds the credential store")
    p.set_defaults(func=cmd_dir)

    p = sub.add_parser("list", help="List stored credentials (never their secrets)")
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "import",
        help="Bring in uv's plaintext credentials.toml",
        description="Encrypt every entry of uv's plaintext store into ours. PATH defaults to "
        "uv's own location ($UV_CREDENTIALS_DIR, else $XDG_DATA_HOME/uv/credentials). The "
        "plaintext file is left as it is: delete it yourself once you have checked the import.",
    )
    p.add_argument("path", metavar="PATH", nargs="?", type=Path)
    p.add_argument(
        "--replace",
        action="store_true",
        help="take uv's secret where it differs from the one already stored (default: stop "
        "and list them, changing nothing)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "export",
        help="Write the secrets in clear as a uv credentials.toml",
        description="Write every index credential, decrypted, in uv's credentials.toml format "
        "(file created 0600), or to stdout with '-'.",
    )
    p.add_argument(
        "--plaintext", metavar="PATH|-", required=True, help="where to write ('-' for stdout)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "rekey",
        help="Re-encrypt the store under a new key, optionally changing the key source",
        description="Rotate the data key (and the key file); with --key-source switch between "
        "a key file and a passphrase (IDX_AUTH_PASSPHRASE_FILE or a prompt).",
    )
    p.add_argument("--key-source", choices=("file", "passphrase"))
    p.set_defaults(func=cmd_rekey)


def add_login_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of ``login`` but SERVICE and --project (also the keys of a project's
    ``[tool.idx-auth.indexes.NAME]`` table)."""
    p.add_argument("-u", "--username", help="username (default: from the URL, else prompted)")
    p.add_argument("--password", metavar="-", help="'-' reads the password from stdin")
    p.add_argument(
        "-t", "--token", metavar="-", help="'-' reads a token from stdin (stored for __token__)"
    )
    refresh_cli.add_provider_arguments(p)


def cmd_login(args: argparse.Namespace) -> int:
    if getattr(args, "project", None) is not None:
        from keyring_idx.cli import onboard

        return onboard.login_project(args)
    if args.service is None:
        raise CliError("login needs SERVICE (an index URL or host), or --project [DIR]")
    target = service.parse_login_service(args.service)
    if target.password is not None:
        raise CliError(
            "refusing a password inside the URL (it would sit in the process list); "
            "drop it from the URL and use --password -"
        )
    if args.provider is not None:
        return refresh_cli.login_with_provider(args, target)
    username: str | None = args.username
    if args.token is not None:
        if username is not None or args.password is not None:
            raise CliError("--token cannot be used with --username or --password")
        username = TOKEN_USERNAME
        secret = from_flag(args.token, "--token", "token: ")
    else:
        if target.username is not None:
            if username is not None:
                raise CliError(
                    "Cannot specify a username both via the URL and CLI; found "
                    f"`--username {username}` and `{target.username}`"
                )
            username = target.username
        if username is None:
            if args.password is not None or not sys.stdin.isatty():
                raise CliError(
                    "No username provided; did you mean to provide `--username` or `--token`?"
                )
            username = username_prompt()
        if not username:
            raise CliError("Username cannot be empty")
        secret = from_flag(args.password, "--password", "password: ")
    if not _through_agent(p.Login(target.service, username, "basic", secret)):
        _vault().login(target.service, username, secret)
    shown = target.service if username == TOKEN_USERNAME else f"{username}@{target.service}"
    say(f"Stored credentials for {shown}")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    target = service.parse_login_service(args.service)
    username = args.username or target.username or TOKEN_USERNAME
    shown = target.service if username == TOKEN_USERNAME else f"{username}@{target.service}"
    try:
        if not _through_agent(p.Logout(target.service, username)):
            _vault().logout(target.service, username)
    except NotFoundError:
        others = sorted(
            e.username or "(token)"
            for e in _entries_if_readable()
            if not e.plain and e.service == target.service and e.username != username
        )
        hint = f"; stored there under {', '.join(others)}: pass -u USER" if others else ""
        raise NotFoundError(f"No matching entry found for {shown}{hint}") from None
    say(f"Removed credentials for {shown}")
    return 0


def _through_agent(request: p.Login | p.Logout) -> bool:
    """Send a change to the running agent, which writes under the same lock and serves the
    new state at once. False when no agent can take it (not running, locked): then the caller
    writes the file itself."""
    try:
        reply = client.request(request, timeout=30.0, store=str(resolve_dirs().store_file))
    except client.AgentUnavailable:
        return False
    if reply.ok:
        return True
    if reply.status in (p.LOCKED, p.UNSUPPORTED):
        return False
    if reply.status == p.NOT_FOUND:
        raise NotFoundError(reply.message or "No matching entry found")
    raise CliError(f"the agent refused the change: {reply.message}")


def cmd_token(args: argparse.Namespace) -> int:
    target = service.parse_service(args.service)
    username = args.username or target.username or TOKEN_USERNAME
    # The keyring backend's path: the agent, else the file, a due token refreshed first.
    from store.access import get_credential
    from store.errors import AmbiguousCredentialError
    from store.model import Ambiguous

    found = get_credential(target.service, username)
    if isinstance(found, Ambiguous):
        raise AmbiguousCredentialError(found)
    if found is None or found.secret is None:
        others = _usernames_for(_entries_if_readable(), target.service, exclude=username)
        hint = ""
        if others:
            hint = (
                f"; stored for this URL under {', '.join(others)}: pass -u "
                f"{others[0] if len(others) == 1 else 'USER'}"
            )
        raise NotFoundError(f"No credentials found for {username}@{target.service}{hint}")
    sys.stdout.write(found.secret + "\n")
    return 0


def _entries_if_readable() -> tuple[Entry, ...]:
    """The store's entries for a hint in an error message; none when the file cannot be read
    here (the agent may hold the only key): the hint is left out, the error stays."""
    from store.errors import StoreError

    try:
        return _vault().read().entries
    except StoreError:
        return ()


def _usernames_for(entries: tuple[Entry, ...], url: str, *, exclude: str) -> list[str]:
    """The other usernames a ``token URL -u NAME`` would find something for (names only)."""
    from store import lookup

    names = sorted({e.username for e in entries if not e.plain and e.username} - {exclude})
    return [n for n in names if isinstance(lookup.find(entries, url, n), Entry)]


def cmd_dir(args: argparse.Namespace) -> int:
    print(resolve_dirs().data)
    return 0


def describe(entry: Entry) -> dict[str, object]:
    """An entry as ``list --json`` shows it, with or without the agent: never a secret."""
    from store.refresh.state import format_time

    return {
        "service": entry.service,
        "username": entry.username,
        "scheme": entry.scheme,
        "kind": "keyring" if entry.plain else "index",
        "has_secret": entry.secret is not None,
        "expires_at": format_time(entry.expires_at) if entry.expires_at else None,
        "provider": dict(entry.refresh).get("provider"),
    }


def cmd_list(args: argparse.Namespace) -> int:
    # With an agent up, keyring_idx.cli.quick answered already (the same rows, from memory).
    vault = _vault()
    doc = vault.read_for_listing()
    for skipped in doc.skipped:
        say(
            f"warning: {skipped.where} in {vault.path} is not used ({skipped.problem}); "
            "log in to it again, or remove it from the file"
        )
    entries = sorted(doc.entries, key=lambda e: (e.plain, e.service, e.username or ""))
    if not entries and not args.json:
        say(f"No credentials stored in {vault.path}")
        return 1
    return quick.print_entries([describe(e) for e in entries], as_json=args.json)


def cmd_import(args: argparse.Namespace) -> int:
    from store import files, plaintext

    path: Path = args.path or plaintext.uv_store_path(os.environ, Path.home())
    # uv holds this lock for every read and write of its store.
    with files.locked(path.with_name(path.name + ".lock"), ours=False):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CliError(f"no uv credentials file at {path}; pass its PATH") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {path}: {exc}") from None
    try:
        creds = plaintext.decode(text)
    except plaintext.PlaintextError as exc:
        raise CliError(f"{path} is not a uv credentials file: {exc}") from None
    parsed = [(service.parse_service(c.service), c) for c in creds]

    def change(doc: Document, sealer: Sealer) -> tuple[Document, list[tuple[str, str]]]:
        report: list[tuple[str, str]] = []
        differ: list[str] = []
        for url, c in parsed:
            # uv keeps URL userinfo inside its keys (a known defect); we store it as the username.
            username = c.username if c.username is not None else url.username
            if c.scheme == "bearer":
                username = None
            who = f"{username}@{url.service}" if username else url.service
            stored = doc.find(url.service, username)
            if stored is not None:
                if stored.scheme == c.scheme and _opens_to(sealer, stored) == c.secret:
                    report.append((who, "same"))
                    continue
                if not args.replace:
                    differ.append(who)
                    continue
            entry = sealer.entry(url.service, username, c.scheme, c.secret)
            doc, replaced = doc.put(entry)
            report.append((who, "replaced" if replaced else "added"))
        if differ:
            raise CliError(
                f"{path} holds a different secret than the idx-auth store for "
                f"{', '.join(differ)}; nothing imported. Check which is right (idx-auth token "
                "SERVICE -u USER shows ours), then rerun with --replace to take uv's"
            )
        return doc, report

    report = _vault().update(change)
    for who, what in report:
        say(f"  {what:<8} {who}")
    counts = {what: sum(1 for _, w in report if w == what) for what in ("added", "replaced")}
    say(
        f"Imported {len(report)} credentials from {path}: {counts['added']} added, "
        f"{counts['replaced']} replaced, {len(report) - sum(counts.values())} already the same. "
        "The plaintext file was left in place."
    )
    return 0 if report else 1


def _opens_to(sealer: Sealer, entry: Entry) -> str | None:
    """The stored secret, or None when it fails to open (then it counts as different)."""
    from store.crypto import CryptoError

    try:
        return sealer.secret(entry)
    except CryptoError:
        return None


def cmd_export(args: argparse.Namespace) -> int:
    vault = _vault()
    doc = vault.read()
    from store import plaintext

    creds = [vault.reveal(doc, e) for e in doc.entries if not e.plain]
    skipped = sum(1 for e in doc.entries if e.plain)
    text = plaintext.encode(creds)
    if args.plaintext == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.plaintext)
        if out.exists() and not args.force:
            raise CliError(f"{out} exists; pass --force to replace it")
        _write_uv_file(out, text)
    say(
        f"warning: {len(creds)} secrets written in CLEAR to "
        f"{'stdout' if args.plaintext == '-' else args.plaintext}; delete it when done"
        + (f" ({skipped} keyring-only entries not exported: uv cannot use them)" if skipped else "")
    )
    return 0


def _write_uv_file(out: Path, text: str) -> None:
    from store import files

    if out.name == "credentials.toml":
        # Writing into a uv credentials dir: take uv's lock like uv does.
        with files.locked(out.with_name(out.name + ".lock"), ours=False):
            files.atomic_write(out, text.encode(), ours=False)
    else:
        files.atomic_write(out, text.encode(), ours=False)


def cmd_rekey(args: argparse.Namespace) -> int:
    vault = _vault()
    header = vault.rekey(args.key_source)
    say(f"Re-encrypted {vault.path} under key {header.key_id} ({header.key_source} key source)")
    return 0
