"""The real ``keyring`` script of this venv: which backend it selects, as doctor sees it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

from keyring_idx.doctor.keyring_cmd import keyring_facts
from keyring_idx.doctor.local_checks import check_keyring
from keyring_idx.doctor.model import OURS

BIN = Path(sys.executable).parent
PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"
NULL = "keyring.backends.null.Keyring"


def env_with(path: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = path
    env.update(extra)
    return env


def keyringrc(home: Path, backend: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[backend]\ndefault-keyring = {backend}\n")
    return path


@pytest.fixture(autouse=True)
def _venv_keyring() -> None:
    if not (BIN / "keyring").exists():
        pytest.fail(f"no keyring script in {BIN}; run 'make venv'")


def test_keyringrc_selecting_plaintext_is_ours_by_value(isolated_home: Path) -> None:
    rc = keyringrc(isolated_home, PLAINTEXT)
    facts = keyring_facts(env_with(str(BIN)))
    assert facts.command == str(BIN / "keyring")
    assert facts.python == sys.executable
    assert facts.selected == PLAINTEXT
    assert (facts.config_backend, facts.config_file) == (PLAINTEXT, str(rc))
    assert facts.imports_ours is True
    check = check_keyring(facts, ours=PLAINTEXT)
    assert check.verdict == "ok" and f"default-keyring in {rc}" in check.detail


def test_keyringrc_selecting_the_null_backend_is_not_ours(isolated_home: Path) -> None:
    rc = keyringrc(isolated_home, NULL)
    check = check_keyring(keyring_facts(env_with(str(BIN))), ours=PLAINTEXT)
    assert check.verdict == "warn" and NULL in check.detail
    assert check.fix == f"idx-auth setup keyring --force (replaces default-keyring in {rc})"


def test_python_keyring_backend_wins_over_keyringrc(isolated_home: Path) -> None:
    keyringrc(isolated_home, PLAINTEXT)
    facts = keyring_facts(env_with(str(BIN), PYTHON_KEYRING_BACKEND=NULL))
    assert (facts.selected, facts.env_backend) == (NULL, NULL)
    check = check_keyring(facts, ours=PLAINTEXT)
    assert check.verdict == "warn" and "unset PYTHON_KEYRING_BACKEND" in check.fix


def test_no_keyring_on_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    facts = keyring_facts(env_with(str(empty)))
    assert facts.command is None
    assert check_keyring(facts).verdict == "warn"


def test_a_backend_that_hangs_is_reported_not_waited_for(tmp_path: Path) -> None:
    mod = tmp_path / "mods"
    mod.mkdir()
    (mod / "slowring.py").write_text("import time\ntime.sleep(120)\n")
    env = env_with(str(BIN), PYTHON_KEYRING_BACKEND="slowring.Slow", PYTHONPATH=str(mod))
    facts = keyring_facts(env, timeout=1.0)
    assert facts.timed_out
    check = check_keyring(facts)
    assert check.verdict == "fail" and "did not answer in time" in check.detail


def test_env_shebang_is_followed_on_path(isolated_home: Path, tmp_path: Path) -> None:
    keyringrc(isolated_home, PLAINTEXT)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "keyring"
    script.write_text("#!/usr/bin/env python\nimport sys\nfrom keyring.cli import main\nmain()\n")
    script.chmod(0o755)
    facts = keyring_facts(env_with(f"{bin_dir}:{BIN}"))
    assert facts.command == str(script)
    assert facts.python == str(BIN / "python")
    assert facts.selected == PLAINTEXT


def test_a_keyring_whose_python_lacks_keyring(tmp_path: Path) -> None:
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None:
        pytest.skip("no system python3")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "keyring"
    script.write_text(f"#!{system} -S\nfrom keyring.cli import main\nmain()\n")
    script.chmod(0o755)
    facts = keyring_facts(env_with(str(bin_dir)))
    if facts.selected is not None:
        pytest.skip(f"{system} has keyring installed")
    check = check_keyring(facts)
    assert check.verdict == "fail" and "ModuleNotFoundError" in check.detail


@pytest.mark.skipif(
    importlib.util.find_spec("keyring_idx.backend") is None, reason="backend not merged yet"
)
def test_our_backend_selected_by_keyringrc_and_first_in_the_chainer(isolated_home: Path) -> None:
    default = check_keyring(keyring_facts(env_with(str(BIN))))
    assert default.verdict == "ok", default.detail  # chainer: ours, then keyrings.alt
    keyringrc(isolated_home, OURS)  # what an older `setup keyring` wrote
    old = check_keyring(keyring_facts(env_with(str(BIN))))
    assert old.verdict == "warn" and "No module named 'keyring_idx'" in old.detail
    from keyring_idx.cli import main

    assert main(["setup", "keyring"]) == 0  # the selector form
    check = check_keyring(keyring_facts(env_with(str(BIN))))
    assert check.verdict == "ok" and f"selects {OURS}" in check.detail


@pytest.mark.parametrize("module", ["json", "keyring", "site"])
def test_nothing_is_imported_from_the_current_directory(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    # A checked-out repository with a module named like one the probe imports: doctor run
    # there must not execute it.
    keyringrc(isolated_home, PLAINTEXT)
    repo = tmp_path / "repo"
    repo.mkdir()
    marker = tmp_path / "ran"
    (repo / f"{module}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(repo)
    facts = keyring_facts(env_with(f".:{BIN}"))
    assert not marker.exists(), f"doctor ran {module}.py from the current directory"
    assert facts.command == str(BIN / "keyring")
    assert facts.selected == PLAINTEXT


def test_pythonpath_and_user_site_still_reach_the_probe(
    isolated_home: Path, tmp_path: Path
) -> None:
    # The probe runs isolated but must still see what the real script sees.
    mod = tmp_path / "mods"
    mod.mkdir()
    (mod / "pathring.py").write_text(
        "from keyring.backends.null import Keyring\nclass Ring(Keyring):\n    pass\n"
    )
    env = env_with(str(BIN), PYTHON_KEYRING_BACKEND="pathring.Ring", PYTHONPATH=str(mod))
    assert keyring_facts(env).selected == "pathring.Ring"


def test_a_relative_path_entry_finds_no_interpreter_in_the_current_directory(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PATH=".:..." and a `python` in the repository: `#!/usr/bin/env python` must not pick it.
    keyringrc(isolated_home, PLAINTEXT)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "keyring"
    script.write_text("#!/usr/bin/env python\nfrom keyring.cli import main\nmain()\n")
    script.chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    marker = tmp_path / "ran"
    planted = repo / "python"
    planted.write_text(f"#!/bin/sh\ntouch {marker}\n")
    planted.chmod(0o755)
    monkeypatch.chdir(repo)
    facts = keyring_facts(env_with(f".:{bin_dir}:{BIN}"))
    assert not marker.exists()
    assert facts.python == str(BIN / "python")
    assert facts.selected == PLAINTEXT
