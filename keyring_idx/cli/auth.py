"""``idx-auth login / logout / token / dir / list / import / export / rekey``."""

from __future__ import annotations

import argparse

from store.dirs import resolve_dirs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dir", help="Show the directory that holds the credential store")
    p.set_defaults(func=cmd_dir)


def cmd_dir(args: argparse.Namespace) -> int:
    print(resolve_dirs().data)
    return 0
