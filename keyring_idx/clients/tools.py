"""``idx-auth setup poetry|pdm|hatch|twine``: which step puts our backend where the tool looks.

poetry, hatch and twine import keyring inside their own environment, so keyring-idx must be
installed there, by the means that installed the tool: ``uv tool install --with``, ``pipx
inject``, ``poetry self add`` / ``pdm self add``, or pip in a plain virtual environment. pdm
imports keyring when its environment has it, and otherwise runs the ``keyring`` command on
PATH. Pure: facts about the installation in, a :class:`Step` out.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

CLIENTS = ("poetry", "pdm", "hatch", "twine")
DIST = "keyring-idx"

Method = Literal["uv-tool", "pipx", "self-add", "pip", "none"]


@dataclass(frozen=True, slots=True)
class Installation:
    """Where a client runs: its script, its Python and the environment around them."""

    client: str
    script: Path  # the command on PATH, symlinks resolved
    python: str  # the interpreter from its shebang
    venv: Path | None  # the virtual environment, None for a system-wide install
    uv_receipt: str | None = None  # uv-receipt.toml's text, for `uv tool install`
    pipx: bool = False  # pipx_metadata.json beside the environment
    has_pip: bool = False  # `python -m pip` works there


@dataclass(frozen=True, slots=True)
class Step:
    """How to install keyring-idx beside the client: ``argv`` to run, or only ``note``."""

    method: Method
    argv: tuple[str, ...] | None
    note: str

    def shown(self) -> str:
        return shlex.join(self.argv) if self.argv else self.note


class StepError(Exception):
    """No step can be worked out; the message says why and what to do instead."""


def venv_of(script: Path) -> Path | None:
    """The virtual environment a console script lives in (``VENV/bin/tool``), if any."""
    root = script.parent.parent
    return root if (root / "pyvenv.cfg").is_file() else None


def requirement_spec(direct_url: Mapping[str, Any] | None, version: str) -> str:
    """What to install: the file or directory this copy came from, else the release."""
    if direct_url:
        url = direct_url.get("url")
        if isinstance(url, str) and url.startswith("file://"):
            return f"{DIST} @ {url}"
    return f"{DIST}=={version}"


def plan(inst: Installation, spec: str) -> Step:
    """The step for ``inst``, by the means that installed the client."""
    if inst.venv is None:
        raise StepError(
            f"{inst.client} runs from {inst.python}, not from a virtual environment; install "
            f"{spec!r} there with the tool that manages that Python, or reinstall "
            f"{inst.client} with `uv tool install {inst.client} --with '{spec}'`"
        )
    if inst.uv_receipt is not None:
        return _uv_tool(inst, spec)
    if inst.pipx:
        name = inst.venv.name
        return Step("pipx", ("pipx", "inject", name, spec), f"pipx inject {name}")
    if inst.client in ("poetry", "pdm"):
        return Step("self-add", (inst.client, "self", "add", spec), f"{inst.client} self add")
    if inst.has_pip:
        return Step("pip", (inst.python, "-m", "pip", "install", spec), "pip install")
    return Step(
        "pip",
        ("uv", "pip", "install", "--python", inst.python, spec),
        "uv pip install into the environment",
    )


def _uv_tool(inst: Installation, spec: str) -> Step:
    """``uv tool install`` again with the receipt's requirements plus ours: uv replaces the
    environment when the requirements change, so every earlier ``--with`` is repeated."""
    assert inst.uv_receipt is not None
    try:
        tool = tomllib.loads(inst.uv_receipt).get("tool", {})
    except tomllib.TOMLDecodeError as exc:
        raise StepError(f"cannot read uv's receipt for {inst.client} ({exc})") from None
    reqs = tool.get("requirements") if isinstance(tool, dict) else None
    if not isinstance(reqs, list) or not reqs:
        raise StepError(f"uv's receipt for {inst.client} lists no requirements")
    parts = [_receipt_requirement(r) for r in reqs]
    if any(p is None for p in parts):
        raise StepError(
            f"uv's receipt for {inst.client} holds a requirement this command cannot repeat; "
            f"reinstall it yourself with `uv tool install ... --with '{spec}'`"
        )
    first, *withs = (p for p in parts if p is not None)
    argv = ["uv", "tool", "install", first]
    for req in withs:
        if not _is_us(req):
            argv += ["--with", req]
    argv += ["--with", spec]
    python = tool.get("python")
    if isinstance(python, str) and python:
        argv += ["--python", python]
    return Step("uv-tool", tuple(argv), "uv tool install --with")


def _is_us(requirement: str) -> bool:
    name = requirement.split("@", 1)[0].split("[", 1)[0]
    for sep in "=<>!~; ":
        name = name.split(sep, 1)[0]
    return name.strip().lower().replace("_", "-") == DIST


def _receipt_requirement(item: object) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    name: str = item["name"]
    extras = item.get("extras")
    if isinstance(extras, list) and extras:
        name += "[" + ",".join(str(e) for e in extras) + "]"
    for key in ("path", "directory"):
        if isinstance(item.get(key), str):
            return f"{name} @ {Path(item[key]).as_uri()}"
    if isinstance(item.get("url"), str):
        return f"{name} @ {item['url']}"
    if set(item) - {"name", "extras", "specifier", "marker"}:
        return None  # git and other sources
    spec = item.get("specifier") or ""
    marker = item.get("marker")
    return name + str(spec) + (f" ; {marker}" if isinstance(marker, str) and marker else "")
