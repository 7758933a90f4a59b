"""``idx-auth run [--project DIR] [--dry-run] -- COMMAND...`` and ``idx-auth env --github-actions
| --gitlab``: tools authenticate natively, from environment variables, with no keyring.

Both read the indexes uv would use for the project (the resolver's settings code), poetry's
``[[tool.poetry.source]]`` entries and the upload URL when the command line or the environment
names one, look each credential up (agent first, the store file otherwise, an expiring token
refreshed), and hand the variables on: ``run`` by replacing itself with COMMAND (exec), ``env``
through the CI's own mechanism. Secrets go only into those variables; what is printed names
variables, never values (``env --github-actions`` prints the runner's ``::add-mask::`` lines,
which the runner consumes and never shows).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from keyring_idx.cli.base import CliError, Sub, say

if TYPE_CHECKING:
    from keyring_idx.native_env import Plan, Target

EXIT_NOT_FOUND = 127  # COMMAND not found, as env(1) and shells report it
EXIT_NOT_EXECUTABLE = 126


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "run",
        help="Run a command with the project's index credentials in its environment",
        description="Run COMMAND with UV_INDEX_<NAME>_USERNAME/_PASSWORD set for each named "
        "index uv would use for the project, POETRY_HTTP_BASIC_<SOURCE>_* for poetry's "
        "sources, and TWINE_*/UV_PUBLISH_*/HATCH_INDEX_*/PDM_PUBLISH_* when the upload URL is "
        "known (--repository-url, --publish-url, --repo, -r URL or TWINE_REPOSITORY_URL). "
        "COMMAND replaces idx-auth (exec): its exit status and signals are its own. "
        "See docs/run.md.",
    )
    add_project_argument(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the names of the variables that would be set (never values) and exit",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "env",
        help="Hand the project's index credentials to later CI steps, masked",
        description="GitHub Actions: mask each secret (::add-mask::) and append the variables "
        "`idx-auth run` would set to $GITHUB_ENV, so later steps run uv natively. GitLab CI: "
        "write them as export lines to a new private file and print its path, for "
        '`. "$(idx-auth env --gitlab)"` (GitLab cannot mask values made during a job). '
        "See docs/run.md.",
    )
    add_project_argument(p)
    ci = p.add_mutually_exclusive_group(required=True)
    ci.add_argument("--github-actions", action="store_true", help="write to $GITHUB_ENV")
    ci.add_argument("--gitlab", action="store_true", help="write a file to source; print its path")
    p.set_defaults(func=cmd_env)


def add_project_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", metavar="DIR", help="project directory (default: current)")


# -- what to set ------------------------------------------------------------------------------


def uv_cli_indexes(command: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """``--index`` values and the ``--default-index`` of a uv command line (they name
    indexes too, and uv reads their variables). Pure."""
    if not command or os.path.basename(command[0]) not in ("uv", "uvx"):
        return (), None
    indexes: list[str] = []
    default: str | None = None
    items = iter(command[1:])
    for arg in items:
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in ("--index", "--default-index"):
            value = value if eq else next(items, "")
            if name == "--index":
                indexes.append(value)
            else:
                default = value
    return tuple(indexes), default


def collect(
    project: str | None, command: Sequence[str], env: Mapping[str, str]
) -> tuple[list[Target], list[str]]:
    """Every variable pair the command may read, in uv's index order, then poetry, then
    the upload tools; and the notes a person should read (indexes that cannot have any)."""
    from keyring_idx.native_env import poetry_targets, upload_targets, upload_url, uv_targets
    from keyring_idx.resolver.config import CliOptions, build_settings
    from keyring_idx.resolver.config_files import read_layers
    from keyring_idx.resolver.errors import ConfigError

    project_dir = Path(project or ".").resolve()
    if project and not project_dir.is_dir():
        raise CliError(f"--project {project}: no such directory")
    index, default_index = uv_cli_indexes(command)
    try:
        settings = build_settings(
            CliOptions(index=index, default_index=default_index),
            env,
            read_layers(project_dir, env),
        )
        sources = poetry_sources(project_dir)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    unnamed = [i.display_url for i in settings.indexes if i.name is None]
    notes = [
        f"idx-auth: index {url} has no name: uv reads credentials from the environment "
        "only for named indexes; give it one (name = ... or --index NAME=URL)"
        for url in dict.fromkeys(unnamed)
    ]
    targets = [
        *uv_targets((i.name, i.url, i.authenticate) for i in settings.indexes),
        *poetry_targets(sources),
        *upload_targets(upload_url(command, env)),
    ]
    return targets, notes


def poetry_sources(project_dir: Path) -> list[tuple[str, str]]:
    """``(name, url)`` of each ``[[tool.poetry.source]]`` in the nearest pyproject.toml."""
    from keyring_idx.resolver.config_files import read_pyproject
    from keyring_idx.resolver.errors import ConfigError

    found = read_pyproject(project_dir)
    if found is None:
        return []
    path, doc = found
    tool = doc.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    entries = poetry.get("source") if isinstance(poetry, dict) else None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"[[tool.poetry.source]] in {path} must be an array of tables")
    out: list[tuple[str, str]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"a [[tool.poetry.source]] in {path} has no name")
        if isinstance(entry.get("url"), str):  # PyPI-like sources without a url need nothing
            out.append((entry["name"], entry["url"]))
    return out


def build_plan(project: str | None, command: Sequence[str], env: Mapping[str, str]) -> Plan:
    """The variables for ``command``; each credential through store.access (the agent first,
    else the file, a due token refreshed). A locked agent stops here (exit 3): the command
    would only meet 401s."""
    from keyring_idx.native_env import plan
    from store.access import get_credential

    targets, notes = collect(project, command, env)
    for note in notes:
        say(note)
    if not notes:
        _remember(project, command, env, targets)
    return plan(targets, lambda url, user: get_credential(url, user, env=env), env)


def _remember(
    project: str | None, command: Sequence[str], env: Mapping[str, str], targets: list[Target]
) -> None:
    """Keep the targets for the quick path (keyring_idx.cli.quick), when an agent runs."""
    from keyring_idx import run_cache
    from store.agent.transport import socket_path

    runtime = os.path.dirname(socket_path(env))
    if not os.path.exists(os.path.join(runtime, "agent.sock")):
        return
    project_dir = str(Path(project or ".").resolve())
    rows = [(t.tool, t.label, t.url, t.username_var, t.password_var, t.username) for t in targets]
    cache_key = run_cache.key(project_dir, command, env)
    run_cache.save(runtime, cache_key, run_cache.config_paths(project_dir, env), rows)


def report_skipped(result: Plan, *, verbose: bool) -> None:
    for target, reason in result.skipped:
        if verbose or not reason.endswith("already set"):
            say(f"idx-auth: {target.describe()}: {reason}; left alone")


# -- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise CliError("no command given: idx-auth run [--project DIR] [--dry-run] -- COMMAND")
    env = dict(os.environ)
    result = build_plan(args.project, command, env)
    report_skipped(result, verbose=args.dry_run)
    if args.dry_run:
        for name in result.names:
            print(name)
        say(f"idx-auth: would run {command[0]} with {len(result.names)} variables set")
        return 0
    env.update(result.variables)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        raise CliError(f"{command[0]}: command not found", EXIT_NOT_FOUND) from None
    except PermissionError:
        raise CliError(f"{command[0]}: not executable", EXIT_NOT_EXECUTABLE) from None
    except OSError as exc:
        raise CliError(f"cannot run {command[0]}: {exc.strerror}", EXIT_NOT_EXECUTABLE) from None


# -- env ---------------------------------------------------------------------------------------


def cmd_env(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    github_env = env.get("GITHUB_ENV")
    if args.github_actions and not github_env:
        raise CliError("GITHUB_ENV is not set: --github-actions works inside a GitHub Actions job")
    result = build_plan(args.project, (), env)
    report_skipped(result, verbose=False)
    if not result.variables:
        say("idx-auth: no stored credential for any index of this project; nothing written")
        return 1
    if args.github_actions:
        assert github_env is not None
        _write_github(Path(github_env), result)
    else:
        _write_gitlab(result, env.get("TMPDIR") or None)
    return 0


def _write_github(path: Path, result: Plan) -> None:
    import secrets

    from keyring_idx.ci_env import github_env_block, github_masks

    # Masks first: from this line on the runner hides the values in every log line.
    masked = dict.fromkeys(v for n, v in result.variables.items() if _is_secret(n))
    sys.stdout.write(github_masks(masked))
    sys.stdout.flush()
    while True:
        delimiter = f"idx_auth_{secrets.token_hex(16)}"
        try:
            block = github_env_block(result.variables, delimiter)
            break
        except ValueError:
            continue
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(block)
    except OSError as exc:
        raise CliError(f"cannot append to $GITHUB_ENV ({path}): {exc.strerror}") from None
    say(f"idx-auth: set for later steps (values masked): {', '.join(result.names)}")


def _write_gitlab(result: Plan, directory: str | None) -> None:
    import tempfile

    from keyring_idx.ci_env import shell_exports

    # mkstemp: a new file, 0600, that nobody else can have opened or replaced.
    try:
        fd, name = tempfile.mkstemp(prefix="idx-auth-env-", suffix=".sh", dir=directory)
    except OSError as exc:
        where = directory or "the temp dir"
        raise CliError(f"cannot create a file in {where}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(shell_exports(result.variables))
    print(name)
    say(
        f"idx-auth: wrote {', '.join(result.names)} to {name}; source it in this job: "
        f'. "{name}" (GitLab cannot mask values made during a job: never echo them)'
    )


def _is_secret(name: str) -> bool:
    return name.endswith(("_PASSWORD", "_AUTH"))
