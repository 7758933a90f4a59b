"""``idx-auth setup fast-keyring [--bin-dir DIR] [--undo]``: install the fast ``keyring`` launcher.

The launcher (:mod:`keyring_idx.launcher`) is a small script named ``keyring`` placed before
every other ``keyring`` on PATH. It runs this installation's Python with ``-S -P`` (no site
packages scan, no script directory on ``sys.path``), appends the directory holding our packages
to ``sys.path`` and calls :func:`keyring_idx.launcher.main` with the real keyring's path.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from keyring_idx.cli.base import CliError, Sub, say
from keyring_idx.launcher import MARKER

NAME = "keyring"
# Linux's limit on a #! line is 256 bytes since 5.1, 128 before; pip's console scripts fall
# back to a /bin/sh trampoline beyond 127 too.
SHEBANG_MAX = 127


def add_fast_keyring(targets: Sub) -> None:
    p = targets.add_parser(
        "fast-keyring",
        help="Put a `keyring` first on PATH that answers uv's and pip's lookups from the agent",
        description="Write a `keyring` launcher that answers the lookups uv and pip send "
        "(`get SERVICE USER`, `get SERVICE --mode creds`, `--mode=creds --output=json get URL`) "
        "straight from the running idx-auth agent, several times faster than keyring itself, "
        "and hands every other command line, and every lookup the agent does not answer, to "
        "the real keyring unchanged. Default place: the first directory in your home on PATH "
        "ahead of any other keyring. See docs/run.md.",
    )
    p.add_argument(
        "--bin-dir", type=Path, metavar="DIR", help="write the launcher into DIR (created)"
    )
    p.add_argument("--undo", action="store_true", help="remove the launcher again")
    p.set_defaults(func=cmd_fast_keyring)


# -- pure parts --------------------------------------------------------------------------


def launcher_text(python: str, roots: Sequence[str], real: str) -> str:
    """The launcher script. Paths are embedded as Python literals (repr)."""
    flags = "-SP"  # one argument: a #! line passes everything after the interpreter as one
    if len(f"#!{python} {flags}") <= SHEBANG_MAX and " " not in python:
        head = f"#!{python} {flags}\n"
    else:
        # pip's trick for long or spaced interpreter paths: sh runs the exec line, Python
        # reads it as a string and the next line as another.
        quoted = "'" + python.replace("'", "'\"'\"'") + "'"
        head = f"#!/bin/sh\n'''exec' {quoted} {flags} \"$0\" \"$@\"\n' '''\n"
    paths = "".join(f"sys.path.append({root!r})\n" for root in roots)
    return (
        f"{head}"
        f"{MARKER}: answers uv's and pip's lookups from the idx-auth agent,\n"
        f"# runs the real keyring ({real}) for everything else.\n"
        "# Written by `idx-auth setup fast-keyring`; remove with "
        "`idx-auth setup fast-keyring --undo`.\n"
        "import sys\n"
        f"{paths}"
        "from keyring_idx.launcher import main\n"
        f"main({real!r})\n"
    )


def is_launcher(path: Path) -> bool:
    """True when ``path`` is a file this command wrote (it carries the marker)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return MARKER.encode() in head


def keyrings_on_path(path_dirs: Sequence[str]) -> list[tuple[int, Path]]:
    """``(position, file)`` of each executable ``keyring`` on PATH, launchers included."""
    found = []
    for position, entry in enumerate(path_dirs):
        candidate = Path(entry or ".") / NAME
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found.append((position, candidate))
    return found


def default_bin_dir(path_dirs: Sequence[str], home: Path) -> Path | None:
    """The first PATH directory inside ``home``, writable, ahead of every other keyring."""
    others = [pos for pos, f in keyrings_on_path(path_dirs) if not is_launcher(f)]
    limit = min(others, default=len(path_dirs))
    for entry in path_dirs[:limit]:
        if not entry:
            continue
        directory = Path(entry)
        if (
            _inside(directory, home)
            and directory.is_dir()
            and os.access(directory, os.W_OK | os.X_OK)
        ):
            return directory
    return None


def shadowed_by(directory: Path, path_dirs: Sequence[str]) -> Path | None:
    """The other ``keyring`` that PATH finds before ``directory``, if any."""
    mine = directory.resolve()
    for entry in path_dirs:
        if Path(entry or ".").resolve() == mine:
            return None
        candidate = Path(entry or ".") / NAME
        if candidate.is_file() and os.access(candidate, os.X_OK) and not is_launcher(candidate):
            return candidate
    return None


def _inside(directory: Path, home: Path) -> bool:
    try:
        directory.resolve().relative_to(home.resolve())
    except ValueError:
        return False
    return True


# -- the command ---------------------------------------------------------------------------


def real_keyring(path_dirs: Sequence[str]) -> Path:
    """keyring's own command: this installation's (it loads our backend), else PATH's."""
    ours = Path(sys.executable).parent / NAME
    if ours.is_file() and not is_launcher(ours):
        return ours
    for _position, found in keyrings_on_path(path_dirs):
        if not is_launcher(found):
            return found.absolute()
    raise CliError(
        "no `keyring` command found to hand other commands to; install keyring next to "
        "keyring-idx (it is a dependency) and rerun"
    )


def package_roots() -> list[str]:
    """The directories that hold our two packages, for the launcher's ``sys.path``."""
    import keyring_idx
    import store

    roots: list[str] = []
    for package in (keyring_idx, store):
        root = str(Path(package.__file__ or "").resolve().parent.parent)
        if root not in roots:
            roots.append(root)
    return roots


def cmd_fast_keyring(args: argparse.Namespace) -> int:
    path_dirs = os.environ.get("PATH", "").split(os.pathsep)
    if args.undo:
        return _undo(args.bin_dir, path_dirs)
    directory: Path | None = args.bin_dir
    if directory is None:
        directory = default_bin_dir(path_dirs, Path.home())
        if directory is None:
            raise CliError(
                "no directory in your home comes first on PATH, ahead of every other keyring; "
                'pass --bin-dir DIR (e.g. ~/.local/bin) and put it first: export PATH="DIR:$PATH"'
            )
    target = directory / NAME
    if target.exists() and not is_launcher(target):
        raise CliError(
            f"{target} exists and is not an idx-auth launcher (is it keyring itself?); "
            "choose another --bin-dir"
        )
    real = real_keyring(path_dirs)
    text = launcher_text(sys.executable, package_roots(), str(real))
    _write_executable(directory, target, text)
    say(f"wrote {target}: uv's and pip's keyring lookups are answered by the idx-auth agent")
    say(f"every other keyring command, and lookups the agent cannot answer, run {real}")
    shadow = shadowed_by(directory, path_dirs)
    if shadow is not None or str(directory) not in path_dirs:
        reason = f"{shadow} comes first" if shadow else f"{directory} is not on PATH"
        say(f'note: {reason}; put the launcher first: export PATH="{directory}:$PATH"')
    from store.agent.transport import socket_path

    if not os.path.exists(socket_path()):
        say("note: no agent is running; start one (`idx-auth agent`, or `idx-auth setup systemd`)")
    return 0


def _write_executable(directory: Path, target: Path, text: str) -> None:
    tmp = directory / f".{NAME}.idx-auth.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o755)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None


def _undo(bin_dir: Path | None, path_dirs: Sequence[str]) -> int:
    if bin_dir is not None:
        candidates = [bin_dir / NAME]
    else:
        candidates = [f for _pos, f in keyrings_on_path(path_dirs)]
    # A directory listed twice on PATH holds one launcher.
    unique = {c.resolve(): c for c in candidates if is_launcher(c)}
    launchers = list(unique.values())
    if not launchers:
        where = str(bin_dir) if bin_dir is not None else "PATH"
        say(f"no idx-auth keyring launcher in {where}; nothing to do")
        return 1
    for launcher in launchers:
        try:
            launcher.unlink()
        except OSError as exc:
            raise CliError(f"cannot remove {launcher}: {exc.strerror or exc}") from None
        say(f"removed {launcher}")
    return 0
