"""The entry point: lazy command loading must not change what the parser accepts or shows."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from keyring_idx.cli import COMMAND_GROUPS, COMMANDS, build_parser, group_module


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


@pytest.mark.parametrize("group", COMMAND_GROUPS)
def test_command_table_matches_what_each_group_registers(group: str) -> None:
    parser = argparse.ArgumentParser()
    group_module(group).register(parser.add_subparsers())
    assert sorted(_commands(parser)) == sorted(c for c, g in COMMANDS.items() if g == group)


def test_full_parser_has_every_command_in_group_order() -> None:
    assert _commands(build_parser()) == list(COMMANDS)


def test_help_output_lists_all_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from keyring_idx.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in out or f"    {command}\n" in out


def test_unknown_command_is_a_usage_error_naming_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from keyring_idx.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "frobnicate" in err and "resolve" in err and "login" in err


def test_a_command_run_imports_only_its_own_group() -> None:
    code = (
        "import sys\n"
        "from keyring_idx.cli import main\n"
        "try:\n"
        "    main(['resolve', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('keyring_idx.cli.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "keyring_idx.cli.resolve" in out
    for other in ("agent", "auth", "refresh", "setup", "doctor"):
        assert f"keyring_idx.cli.{other}'" not in out


def test_every_help_ends_with_the_docs_page_to_read() -> None:
    from pathlib import Path

    from keyring_idx.cli import DOCS, commands

    root = Path(__file__).resolve().parents[3]
    parser = build_parser()
    every = commands(parser)
    assert set(every) == set(DOCS), "each command needs its page in keyring_idx.cli.DOCS"
    assert " ".join(parser.format_help().split()).endswith("in the keyring-idx repository.")
    for name, command in every.items():
        text = " ".join(command.format_help().split())  # the epilog may wrap
        assert text.endswith(f"Documentation: docs/{DOCS[name]} in the keyring-idx repository.")
        assert (root / "docs" / DOCS[name]).is_file(), DOCS[name]


def test_a_subcommand_help_names_its_page(capsys: pytest.CaptureFixture[str]) -> None:
    from keyring_idx.cli import main

    with pytest.raises(SystemExit):
        main(["token", "--help"])
    out = capsys.readouterr().out
    assert "docs/store.md" in out.split("options:")[-1]


def test_login_offers_the_stores_list_of_providers() -> None:
    from keyring_idx.cli import commands
    from store.refresh import PROVIDER_NAMES

    login = commands(build_parser(("auth",)))["login"]
    choices = next(a.choices for a in login._actions if a.dest == "provider")
    assert tuple(choices or ()) == PROVIDER_NAMES
