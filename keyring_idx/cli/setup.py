"""``idx-auth setup TARGET``: connect other tools to the store.

One ``setup`` command with a sub-command per target. Each target is a function in
:data:`TARGETS` that adds its parser to the ``setup`` sub-parsers; another command-group module
adds a target (``setup systemd``) by appending its own function there.

- ``setup keyring`` points keyring's ``keyringrc.cfg`` at a selector (clients/keyringrc.py):
  our backend, loaded directly, wherever keyring-idx is installed; keyring's own choice
  elsewhere.
- ``setup uv`` prints what uv needs to ask keyring for each stored index.
- ``setup poetry|pdm|hatch|twine`` (cli/setup_clients.py) installs the backend where that
  tool's keyring looks.
- ``setup systemd`` (cli/agent.py) installs the agent's user units.
- ``setup fast-keyring`` (cli/fast_keyring.py) installs the fast ``keyring`` launcher.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from keyring_idx.cli import agent, fast_keyring, setup_clients
from keyring_idx.cli.base import CliError, Sub, emit_json, say


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
        help="Make the keyring command load the idx-auth backend directly (keyringrc.cfg)",
        description="Point keyring's keyringrc.cfg at a small selector module: in every "
        "environment that has keyring-idx, keyring then loads only our backend instead of "
        "probing every installed one; in environments without it, keyring chooses as if there "
        "were no keyringrc.cfg. Other keyring backends are not consulted where we are installed.",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a different default-keyring or keyring-path already set",
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
    setup_clients.add_client_targets,
    agent.add_setup_systemd,
    fast_keyring.add_fast_keyring,
]


# -- setup keyring ---------------------------------------------------------------------------


def keyringrc_path() -> Path:
    """keyring's own answer for where its config file lives."""
    from keyring.util import platform_

    return Path(platform_.config_root()) / "keyringrc.cfg"


def cmd_setup_keyring(args: argparse.Namespace) -> int:
    from keyring_idx.clients import keyringrc

    path = keyringrc_path()
    selector_dir = path.parent / keyringrc.SELECTOR_DIR
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    try:
        plan = keyringrc.plan(text, str(selector_dir), args.force)
    except keyringrc.KeyringrcError as exc:
        raise CliError(str(exc)) from None
    module = selector_dir / f"{keyringrc.SELECTOR_MODULE}.py"
    try:
        # The selector first: a keyringrc.cfg naming a module that is not there yet would
        # break every keyring in between.
        selector_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_text(module, keyringrc.SELECTOR_SOURCE)
        if plan.text is not None:
            _write_text(path, plan.text)
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename or path}: {exc.strerror}") from None
    if plan.text is None:
        say(f"{path} already selects idx-auth's backend through {module}; nothing to do")
        return 0
    was = f" (was {plan.replaced})" if plan.replaced not in (None, keyringrc.SELECTOR) else ""
    say(f"wrote {path}: default-keyring = {keyringrc.SELECTOR}{was}, keyring-path = {selector_dir}")
    say(
        "environments with keyring-idx now load only its backend; the others choose as if "
        "there were no keyringrc.cfg. Delete both to go back."
    )
    return 0


def _write_text(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
