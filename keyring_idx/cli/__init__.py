"""``idx-auth``: the command-line entry point.

Each command group lives in its own module exposing ``register(subparsers)``; this module only
builds the parser, runs the chosen handler and turns errors into one line on stderr and an exit
code (0 ok, 1 nothing found, 2 usage or invalid input, 3 agent required but unavailable).

A run imports only the module of the command it runs (the groups' modules and what they import
cost several times more than a fast ``resolve``); ``idx-auth --help``, a missing or unknown
command build the whole parser. Before any of that, ``token`` and ``list`` are offered to a
running agent (:mod:`keyring_idx.cli.quick`), which needs neither argparse nor the store; so
this module imports nothing at its top but ``gc`` and ``sys``.
"""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # see store.agent.wire: typing is not imported at run time
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import ModuleType
    from typing import NoReturn

# Order here is the order of `idx-auth --help`.
COMMAND_GROUPS = ("auth", "refresh", "agent", "run", "resolve", "audit", "setup", "doctor")

# Which group registers each command, so a run can import just that one;
# tests/keyring_idx/cli/test_main.py keeps this in step with the groups' register().
COMMANDS = {
    "login": "auth",
    "logout": "auth",
    "token": "auth",
    "dir": "auth",
    "list": "auth",
    "import": "auth",
    "export": "auth",
    "rekey": "auth",
    "refresh": "refresh",
    "agent": "agent",
    "status": "agent",
    "lock": "agent",
    "unlock": "agent",
    "run": "run",
    "env": "run",
    "resolve": "resolve",
    "audit": "audit",
    "setup": "setup",
    "doctor": "doctor",
}


# The page of docs/ each command's help ends with (a `setup` target as "setup TARGET");
# tests/keyring_idx/cli/test_main.py checks every command has one and that the page exists.
DOCS = {
    "login": "store.md",
    "logout": "store.md",
    "token": "store.md",
    "dir": "store.md",
    "list": "store.md",
    "import": "store.md",
    "export": "store.md",
    "rekey": "store.md",
    "refresh": "refresh.md",
    "agent": "agent.md",
    "status": "agent.md",
    "lock": "agent.md",
    "unlock": "agent.md",
    "run": "run.md",
    "env": "run.md",
    "resolve": "resolver.md",
    "audit": "audit.md",
    "setup": "clients.md",
    "setup keyring": "clients.md",
    "setup uv": "clients.md",
    "setup poetry": "clients.md",
    "setup pdm": "clients.md",
    "setup hatch": "clients.md",
    "setup twine": "clients.md",
    "setup systemd": "agent.md",
    "setup fast-keyring": "run.md",
    "doctor": "doctor.md",
}


def docs_line(page: str | None) -> str:
    where = f"docs/{page}" if page else "README.md"
    return f"Documentation: {where} in the keyring-idx repository."


def group_module(group: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"keyring_idx.cli.{group}")


def build_parser(groups: Sequence[str] = COMMAND_GROUPS) -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="idx-auth",
        description=(
            "Encrypted credentials for private Python package indexes, "
            "with uv's flags and URL rules."
        ),
        epilog="Exit codes: 0 success, 1 nothing found, 2 usage or invalid input, "
        "3 agent required but unreachable or locked. Documentation: README.md (start there) "
        "and docs/, one page per topic, in the keyring-idx repository.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in groups:
        group_module(group).register(sub)
    for name, command in commands(parser).items():
        page = docs_line(DOCS.get(name))
        command.epilog = f"{command.epilog} {page}" if command.epilog else page
    return parser


def commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by name, nested ones (``setup keyring``) included."""
    import argparse

    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found[prefix + name] = child
                found.update(commands(child, f"{prefix}{name} "))
    return found


def _groups_for(argv: Sequence[str]) -> Sequence[str]:
    """The one group the command needs, or all of them (help, no or an unknown command)."""
    # The top-level parser has no options but -h/--help, so a command is the first word.
    if not argv or argv[0] not in COMMANDS:
        return COMMAND_GROUPS
    return (COMMANDS[argv[0]],)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    ours = args_in
    if args_in[:1] == ["run"] and "--" in args_in:
        ours = args_in[: args_in.index("--")]  # COMMAND's arguments are its own business
    for position, arg in enumerate(ours, 1):
        if not is_utf8(arg):
            # Bytes that are not UTF-8 arrive as lone surrogates; nothing could store or send
            # them, so say so before any command starts (the argument itself is not shown).
            print(
                f"idx-auth: error: argument {position} is not valid UTF-8 text; give it in UTF-8",
                file=sys.stderr,
            )
            return 2
    from keyring_idx.cli import quick

    try:
        answered = quick.run(args_in)
    except KeyboardInterrupt:
        print("idx-auth: interrupted", file=sys.stderr)
        return 130
    if answered is not None:
        return answered
    from keyring_idx.cli.base import CliError, importing, say
    from store.errors import StoreError

    with importing():
        parser = build_parser(_groups_for(args_in))
    args = parser.parse_args(args_in)
    try:
        code: int = args.func(args)
    except (CliError, StoreError) as exc:
        say(f"idx-auth: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print("idx-auth: interrupted", file=sys.stderr)
        return 130
    except EOFError:  # Ctrl-D at a prompt that did not handle it itself
        print(
            "idx-auth: error: no input (end of input at a prompt); nothing changed", file=sys.stderr
        )
        return 2
    return code


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def entry() -> NoReturn:
    """The ``idx-auth`` program: :func:`main`, then exit without the collector walking every
    object once more on the way out (see :func:`keyring_idx.cli.base.importing`)."""
    code = main()
    gc.freeze()
    sys.exit(code)
