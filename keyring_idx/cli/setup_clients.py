"""``idx-auth setup poetry|pdm|hatch|twine``: put our backend where the tool's keyring looks.

Finds the tool on PATH, its Python (from the script's shebang) and how it was installed, runs
the one step that installs keyring-idx beside it (or prints it, with ``--print`` or when the
installer is not on PATH), then asks the tool's own Python which keyring backend it selects.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from keyring_idx.cli.base import CliError, Sub, say
from keyring_idx.clients import tools
from keyring_idx.doctor.model import OURS, KeyringFacts

CHAINER = "keyring.backends.chainer.ChainerBackend"
INSTALL_HINTS = {
    "poetry": "uv tool install poetry, or pipx install poetry",
    "pdm": "uv tool install pdm, or pipx install pdm",
    "hatch": "uv tool install hatch, or pipx install hatch",
    "twine": "uv tool install twine, or pipx install twine",
}


def add_client_targets(targets: Sub) -> None:
    for client in tools.CLIENTS:
        p = targets.add_parser(
            client,
            help=f"Install the idx-auth backend where {client} reads keyring, then verify it",
            description=f"Find {client} on PATH and how it was installed (uv tool, pipx, "
            f"{client + ' self add, ' if client in ('poetry', 'pdm') else ''}a virtual "
            "environment), install keyring-idx into its environment by that means, then ask "
            f"{client}'s own Python which keyring backend it selects.",
        )
        p.add_argument(
            "--print",
            dest="dry_run",
            action="store_true",
            help="print the step instead of running it",
        )
        p.add_argument(
            "--from",
            dest="spec",
            metavar="REQUIREMENT",
            help="what to install (default: where this keyring-idx came from: its wheel, "
            "checkout, or release)",
        )
        p.set_defaults(func=cmd_setup_client, client=client)


def cmd_setup_client(args: argparse.Namespace) -> int:
    client: str = args.client
    env = dict(os.environ)
    inst = _installation(client, env)
    spec = args.spec or _our_spec()
    before = _ask(inst, env)
    if _selects_ours(before):
        say(f"{client} ({inst.python}) already selects {_shown(before)}; nothing to do")
        return 0
    if client == "pdm" and _lacks_keyring(before):
        done = _pdm_via_command(env)
        if done is not None:
            return done
    try:
        step = tools.plan(inst, spec)
    except tools.StepError as exc:
        raise CliError(str(exc)) from None
    assert step.argv is not None
    runner = shutil.which(step.argv[0], path=env.get("PATH")) or (
        step.argv[0] if os.path.isabs(step.argv[0]) else None
    )
    if args.dry_run or runner is None:
        print(step.shown())
        if runner is None:
            say(f"{step.argv[0]} is not on PATH: run the line above where it is, then rerun")
            return 1
        say(f"{client} was installed with {step.method}; the line above adds keyring-idx")
        return 0
    say(f"{client}: {step.shown()}")
    # The installer's own output is for a person: stderr, like ours (stdout stays clean).
    result = subprocess.run(
        [runner, *step.argv[1:]], env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr
    )
    if result.returncode != 0:
        raise CliError(f"`{step.shown()}` failed with exit status {result.returncode}")
    after = _ask(inst, env)
    if not _selects_ours(after):
        raise CliError(
            f"{client}'s Python ({inst.python}) still selects {_shown(after)} after the "
            "install; run `idx-auth doctor` and check PYTHON_KEYRING_BACKEND and keyringrc.cfg"
        )
    say(f"ok: {client}'s Python ({inst.python}) selects {_shown(after)}")
    return 0


def _installation(client: str, env: dict[str, str]) -> tools.Installation:
    from keyring_idx.doctor.facts import interpreter

    search = env.get("PATH", os.defpath)
    found = shutil.which(client, path=search)
    if found is None:
        raise CliError(f"{client} is not on PATH; install it first ({INSTALL_HINTS[client]})", 1)
    script = Path(found).resolve()
    try:
        with open(script, "rb") as fh:
            head = fh.read(1024).decode("utf-8", "replace")
    except OSError as exc:
        raise CliError(f"cannot read {script}: {exc.strerror}") from None
    argv = interpreter(head, lambda name: shutil.which(name, path=search))
    if argv is None:
        raise CliError(f"{script} is not a Python script with a shebang; cannot tell its Python")
    python = argv[0]
    venv = tools.venv_of(Path(python)) or tools.venv_of(script)
    receipt = None
    if venv is not None:
        try:
            receipt = (venv / "uv-receipt.toml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            receipt = None
    has_pip = venv is not None and any(venv.glob("lib/python*/site-packages/pip/__init__.py"))
    return tools.Installation(
        client=client,
        script=script,
        python=python,
        venv=venv,
        uv_receipt=receipt,
        pipx=venv is not None and (venv / "pipx_metadata.json").is_file(),
        has_pip=has_pip,
    )


def _our_spec() -> str:
    from importlib import metadata

    try:
        dist = metadata.distribution(tools.DIST)
    except metadata.PackageNotFoundError:
        return tools.DIST
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        direct = None
    return tools.requirement_spec(direct if isinstance(direct, dict) else None, dist.version)


def _ask(inst: tools.Installation, env: dict[str, str]) -> KeyringFacts:
    from keyring_idx.doctor import keyring_cmd

    return keyring_cmd.ask_python([inst.python], str(inst.script), env)


def _selects_ours(facts: KeyringFacts) -> bool:
    if facts.selected == OURS:
        return True
    return facts.selected == CHAINER and any(b.name == OURS for b in facts.chain)


def _lacks_keyring(facts: KeyringFacts) -> bool:
    return bool(facts.error and "No module named 'keyring'" in facts.error)


def _shown(facts: KeyringFacts) -> str:
    if facts.error or facts.timed_out:
        return f"no backend ({facts.error or 'timed out'})"
    if facts.selected == CHAINER:
        return "the chainer (" + " > ".join(b.name for b in facts.chain) + ")"
    return str(facts.selected)


def _pdm_via_command(env: dict[str, str]) -> int | None:
    """pdm without the keyring module runs the ``keyring`` command on PATH: when that one
    selects us there is nothing to install. None: it does not, so install into pdm."""
    from keyring_idx.doctor import keyring_cmd

    facts = keyring_cmd.keyring_facts(env)
    if facts.command is not None and _selects_ours(facts):
        say(
            f"ok: pdm has no keyring module, so it runs `{facts.command}`, which selects "
            f"{_shown(facts)}; nothing to install"
        )
        return 0
    return None
