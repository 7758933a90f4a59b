"""How secrets and usernames reach a command: stdin (``-``) or a TTY prompt, never argv."""

from __future__ import annotations

import getpass
import sys

from keyring_idx.cli.base import CliError


def from_flag(value: str | None, flag: str, prompt: str) -> str:
    """Resolve a secret flag: ``-`` reads one line from stdin; absent prompts on a TTY.

    A literal value is refused: it would sit in the process list and shell history.
    """
    if value is None:
        if not sys.stdin.isatty():
            raise CliError(
                f"no {flag.lstrip('-')} given and stdin is not a terminal; "
                f"pass '{flag} -' and pipe the secret on stdin"
            )
        try:
            secret = getpass.getpass(prompt)
        except EOFError:  # Ctrl-D at the prompt
            raise CliError(f"no {flag.lstrip('-')} given (end of input); nothing stored") from None
    elif value == "-":
        secret = read_stdin_line()
    else:
        raise CliError(
            f"refusing a secret on the command line ({flag} VALUE shows it to every local user "
            f"and your shell history); use '{flag} -' and pipe it on stdin, or omit {flag} to be "
            "prompted"
        )
    if not secret:
        raise CliError(f"empty {flag.lstrip('-')}; nothing stored")
    return utf8_text(secret, f"the {flag.lstrip('-')}")


def read_stdin_line() -> str:
    return sys.stdin.readline().strip()


def username_prompt() -> str:
    if not sys.stdin.isatty():
        raise CliError(
            "no username given and stdin is not a terminal; pass --username USER "
            "or put it in the URL (https://USER@host/...)"
        )
    sys.stderr.write("username: ")
    sys.stderr.flush()
    name = sys.stdin.readline().strip()
    if not name:
        raise CliError("empty username; nothing stored")
    return utf8_text(name, "the username")


def utf8_text(value: str, what: str) -> str:
    """``value`` if it is valid UTF-8 text; bytes that were not arrive as lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(f"{what} is not valid UTF-8 text; nothing stored") from None
    return value
