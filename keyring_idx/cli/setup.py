"""``idx-auth setup TARGET``: connect other tools to the store.

One ``setup`` command with a sub-command per target. Each target is a function in
:data:`TARGETS` that adds its parser to the ``setup`` sub-parsers; another command-group module
adds a target (``setup systemd``) by appending its own function there.

- ``setup keyring`` writes keyring's ``keyringrc.cfg`` so the ``keyring`` command loads our
  backend directly instead of importing every installed backend on each call.
- ``setup uv`` prints what uv needs to ask keyring for each stored index.
- ``setup systemd`` (cli/agent.py) installs the agent's user units.
- ``setup fast-keyring`` (cli/fast_keyring.py) installs the fast ``keyring`` launcher.
"""

from __future__ import annotations

import argparse
import configparser
import io
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from keyring_idx.cli import agent, fast_keyring
from keyring_idx.cli.base import CliError, Sub, emit_json, say

BACKEND = "keyring_idx.backend.IdxKeyring"


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "setup",
        help="Connect keyring, uv and other tools to the store",
        description="Write or print the configuration another tool needs to use the store.",
    )
    targets = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    for add in TARGETS:
        add(targets)


def add_keyring(targets: Sub) -> None:
    p = targets.add_parser(
        "keyring",
        help="Make the keyring command use the idx-auth backend directly (keyringrc.cfg)",
        description="Write [backend] default-keyring = keyring_idx.backend.IdxKeyring into "
        "keyring's keyringrc.cfg, so every `keyring` call (uv, pip) loads only this backend "
        "instead of probing every installed one. Other keyring backends are then not consulted.",
    )
    p.add_argument(
        "--force", action="store_true", help="replace a different default-keyring already set"
    )
    p.set_defaults(func=cmd_setup_keyring)


def add_uv(targets: Sub) -> None:
    p = targets.add_parser(
        "uv",
        help="Print the uv settings that make uv ask keyring for the stored indexes",
        description="uv asks keyring only when it knows the username (URL userinfo or "
        'UV_INDEX_<NAME>_USERNAME) or the index has authenticate = "always". This prints, '
        "for each stored index, what uv needs.",
    )
    p.add_argument("--json", action="store_true", help="a JSON document on stdout")
    p.set_defaults(func=cmd_setup_uv)


#: ``setup`` targets in ``--help`` order; each adds one sub-parser.
TARGETS: list[Callable[[Sub], None]] = [
    add_keyring,
    add_uv,
    agent.add_setup_systemd,
    fast_keyring.add_fast_keyring,
]


# -- setup keyring ---------------------------------------------------------------------------


def keyringrc_path() -> Path:
    """keyring's own answer for where its config file lives."""
    from keyring.util import platform_

    return Path(platform_.config_root()) / "keyringrc.cfg"


def plan_keyringrc(text: str | None, force: bool) -> tuple[str | None, str | None]:
    """The new keyringrc text (None when nothing changes) and the choice it replaces. Pure.

    Other sections and options (``keyring-path``) are kept. Raises CliError when another
    backend is chosen and ``force`` is not set.
    """
    config = configparser.RawConfigParser()
    if text is not None:
        try:
            config.read_string(text)
        except configparser.Error as exc:
            raise CliError(
                f"keyringrc.cfg is not a valid INI file ({exc}); fix or remove it"
            ) from None
    current = None
    if config.has_option("backend", "default-keyring"):
        current = config.get("backend", "default-keyring").strip()
    if current == BACKEND:
        return None, current
    if current and not force:
        raise CliError(
            f"keyring is already set to use {current}; rerun with --force to replace it "
            f"with {BACKEND}"
        )
    if not config.has_section("backend"):
        config.add_section("backend")
    config.set("backend", "default-keyring", BACKEND)
    out = io.StringIO()
    config.write(out)
    return out.getvalue(), current


def cmd_setup_keyring(args: argparse.Namespace) -> int:
    path = keyringrc_path()
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    new, replaced = plan_keyringrc(text, args.force)
    if new is None:
        say(f"{path} already selects {BACKEND}; nothing to do")
        return 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    say(f"wrote {path}: default-keyring = {BACKEND}" + (f" (was {replaced})" if replaced else ""))
    say("keyring now loads only this backend; delete the file to go back to auto-detection")
    return 0


# -- setup uv --------------------------------------------------------------------------------


def uv_advice(services: Sequence[tuple[str, str | None]]) -> list[dict[str, object]]:
    """Per stored index ``(service, username)``: what uv must be told. Pure."""
    out: list[dict[str, object]] = []
    for service, username in services:
        index_url = service.rstrip("/") + "/simple/"
        item: dict[str, object] = {"service": service, "username": username}
        if username:
            scheme, _, rest = index_url.partition("://")
            item["url_with_username"] = f"{scheme}://{username}@{rest}"
            item["env"] = f"UV_INDEX_<NAME>_USERNAME={username}"
        item["authenticate_always"] = True
        item["example_index_url"] = index_url
        out.append(item)
    return out


def _keyring_command_note() -> str:
    found = shutil.which("keyring")
    ours = Path(sys.executable).parent / "keyring"
    if found is None:
        return (
            f"# warning: no `keyring` command on PATH; uv runs `keyring` from PATH: add "
            f"{ours.parent} to PATH (or install keyring-idx with `uv tool install`)"
        )
    if Path(found).resolve() != ours.resolve():
        return (
            f"# note: `keyring` on PATH is {found}; it must be able to import keyring_idx "
            f"(this install's is {ours})"
        )
    return f"# `keyring` on PATH: {found} (this install)"


def cmd_setup_uv(args: argparse.Namespace) -> int:
    from store.vault import Vault

    doc = Vault().read_for_listing()
    stored = sorted({(e.service, e.username) for e in doc.entries if not e.plain and e.username})
    bearer = sorted({e.service for e in doc.entries if not e.plain and e.scheme == "bearer"})
    advice = uv_advice(stored)
    if args.json:
        emit_json({"keyring-provider": "subprocess", "indexes": advice, "bearer_skipped": bearer})
        return 0 if advice else 1
    lines = [
        "# uv.toml, or [tool.uv] in pyproject.toml (or: export UV_KEYRING_PROVIDER=subprocess)",
        'keyring-provider = "subprocess"',
        _keyring_command_note(),
    ]
    for item in advice:
        lines += [
            "",
            f"# {item['username']} @ {item['service']}: uv must know the username, either",
            f'#   in the index URL:  url = "{item["url_with_username"]}"',
            f"#   or in the environment:  export {item['env']}",
            "#     (<NAME>: the index's name upper-cased, other non-alphanumerics as '_')",
            "#   or let uv ask keyring for the username too:",
            "[[index]]",
            'name = "<name>"',
            f'url = "{item["example_index_url"]}"  # your index URL as configured',
            'authenticate = "always"',
        ]
    for service in bearer:
        lines += ["", f"# {service}: a bearer token; keyring cannot hand it to uv, skipped"]
    print("\n".join(lines))
    if not advice:
        say("no index credentials stored yet; add one with `idx-auth login URL`")
        return 1
    return 0
