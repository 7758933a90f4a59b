from __future__ import annotations

from pathlib import Path

import pytest

from keyring_idx.clients import tools
from keyring_idx.clients.tools import Installation, StepError, plan, requirement_spec

SPEC = "keyring-idx @ file:///w/keyring_idx-0.1.0-py3-none-any.whl"
RECEIPT = """[tool]
requirements = [
    { name = "pdm", specifier = "==2.29.4" },
    { name = "hishel", specifier = "<2" },
    { name = "keyring-idx", path = "/old/keyring_idx-0.0.9-py3-none-any.whl" },
    { name = "rich", extras = ["jupyter"], marker = "python_version >= '3.11'" },
]
python = "/usr/bin/python3.11"
"""


def inst(client: str = "poetry", **more: object) -> Installation:
    venv = Path("/home/u/.local/share/uv/tools") / client
    fields: dict[str, object] = {
        "client": client,
        "script": venv / "bin" / client,
        "python": str(venv / "bin" / "python"),
        "venv": venv,
    }
    fields.update(more)
    return Installation(**fields)  # type: ignore[arg-type]


def test_uv_tool_repeats_the_receipt_and_replaces_an_older_us() -> None:
    step = plan(inst("pdm", uv_receipt=RECEIPT), SPEC)
    assert step.method == "uv-tool"
    assert step.argv == (
        "uv", "tool", "install", "pdm==2.29.4",
        "--with", "hishel<2",
        "--with", "rich[jupyter] ; python_version >= '3.11'",
        "--with", SPEC,
        "--python", "/usr/bin/python3.11",
    )  # fmt: skip


def test_uv_receipt_with_a_git_source_is_printed_not_guessed() -> None:
    receipt = '[tool]\nrequirements = [{ name = "poetry", git = "https://g/p" }]\n'
    with pytest.raises(StepError, match="cannot repeat"):
        plan(inst(uv_receipt=receipt), SPEC)
    with pytest.raises(StepError, match="cannot read"):
        plan(inst(uv_receipt="[tool"), SPEC)


def test_pipx_self_add_pip_and_system_python() -> None:
    assert plan(inst("twine", pipx=True), SPEC).argv == ("pipx", "inject", "twine", SPEC)
    assert plan(inst("poetry"), SPEC).argv == ("poetry", "self", "add", SPEC)
    assert plan(inst("pdm"), SPEC).argv == ("pdm", "self", "add", SPEC)
    hatch = inst("hatch", has_pip=True)
    assert plan(hatch, SPEC).argv == (hatch.python, "-m", "pip", "install", SPEC)
    bare = inst("hatch")
    assert plan(bare, SPEC).argv == ("uv", "pip", "install", "--python", bare.python, SPEC)
    with pytest.raises(StepError, match="not from a virtual environment"):
        plan(inst("twine", venv=None, python="/usr/bin/python3"), SPEC)


def test_what_to_install_is_where_this_copy_came_from() -> None:
    wheel = {"url": "file:///w/keyring_idx-0.1.0-py3-none-any.whl", "archive_info": {}}
    assert requirement_spec(wheel, "0.1.0") == SPEC
    checkout = {"url": "file:///w/keyring-idx", "dir_info": {"editable": True}}
    assert requirement_spec(checkout, "0.1.0") == "keyring-idx @ file:///w/keyring-idx"
    assert requirement_spec(None, "0.1.0") == "keyring-idx==0.1.0"
    assert requirement_spec({"url": "https://x/k.whl"}, "0.1.0") == "keyring-idx==0.1.0"


def test_venv_of(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert tools.venv_of(tmp_path / "bin" / "python") == tmp_path
    assert tools.venv_of(Path("/usr/bin/python3")) is None
