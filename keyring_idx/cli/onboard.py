"""``idx-auth login --project [DIR]``: one command logs in to every index a project declares.

The project says in ``[tool.idx-auth.indexes.NAME]`` how each uv index gets its credential
(:mod:`keyring_idx.declared`); the index URL comes from uv's settings for that project, read
by the resolver's settings code (project, user and system configuration, ``UV_*``). Each index
is then logged in to exactly as ``idx-auth login URL OPTIONS...`` would: the table's keys are
that command's options, checked by the same parser. Only what must come from the person is
asked for, on the terminal: a password, an OAuth 2 client secret, a username nobody declared.
One index that fails does not stop the others; the exit status is 2 if any failed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import NoReturn

from keyring_idx import declared
from keyring_idx.cli.base import CliError, say
from keyring_idx.resolver.config import Index, strip_userinfo
from keyring_idx.resolver.errors import ConfigError
from store.errors import StoreError


class _Parser(argparse.ArgumentParser):
    """The login options, with errors raised for one index instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise CliError(message)


def _login_parser() -> _Parser:
    from keyring_idx.cli.auth import add_login_arguments

    parser = _Parser(prog="idx-auth login", add_help=False)
    parser.add_argument("service")
    add_login_arguments(parser)
    return parser


def _option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Table key -> the option it stands for (``vault-path`` -> ``--vault-path``)."""
    names: dict[str, str] = {}
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--"):
                names[option[2:]] = option
    return names


def argv_for(entry: declared.Declared, url: str, names: dict[str, str]) -> list[str]:
    """The ``login`` arguments a declaration stands for."""
    argv = [url]
    for key, value in entry.options:
        option = names.get(key)
        if option is None:
            raise CliError(
                f"[tool.idx-auth.indexes.{entry.name}] has {key!r}, which is not an option of "
                "idx-auth login (see idx-auth login --help; keys are long options without --)"
            )
        argv += [option, value]
    return argv


def _uv_indexes(project_dir: Path) -> dict[str, Index]:
    from keyring_idx.resolver.config import CliOptions, build_settings
    from keyring_idx.resolver.config_files import read_layers

    settings = build_settings(CliOptions(), os.environ, read_layers(project_dir, os.environ))
    named: dict[str, Index] = {}
    for index in settings.indexes:
        if index.name is not None:
            named.setdefault(index.name, index)  # the first of a name wins, as in uv
    return named


def login_project(args: argparse.Namespace) -> int:
    from keyring_idx.cli.auth import cmd_login

    if args.service is not None:
        raise CliError("give SERVICE or --project, not both")
    given = [
        flag
        for flag, value in (
            ("--username", args.username),
            ("--password", args.password),
            ("--token", args.token),
            ("--provider", args.provider),
        )
        if value is not None
    ]
    if given:
        raise CliError(
            f"--project takes each index's options from pyproject.toml; drop {', '.join(given)}"
        )
    project_dir = Path(args.project).expanduser().resolve()
    try:
        decl = declared.read(project_dir)
        indexes = _uv_indexes(project_dir)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if decl.path is None or not decl.indexes:
        say(f"No [tool.idx-auth.indexes.NAME] tables in the pyproject.toml of {project_dir}")
        return 1
    parser = _login_parser()
    names = _option_names(parser)
    failed = 0
    for entry in decl.indexes:
        index = indexes.get(entry.name)
        try:
            if index is None:
                raise CliError(
                    f"no uv index is named {entry.name!r}; add [[tool.uv.index]] with "
                    f'name = "{entry.name}" and its url'
                )
            url = strip_userinfo(index.url)
            say(f"{entry.name}: {url}")
            cmd_login(parser.parse_args(argv_for(entry, url, names)))
        except (CliError, StoreError) as exc:
            failed += 1
            say(f"{entry.name}: failed: {exc}")
    done = len(decl.indexes) - failed
    say(f"Logged in to {done} of {len(decl.indexes)} declared indexes of {decl.path}")
    return 2 if failed else 0
