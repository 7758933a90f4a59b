from __future__ import annotations

from pathlib import Path

from keyring_idx.resolver.config_files import read_project
from keyring_idx.resolver.plan import lock_scope


def test_lock_scope_without_a_project_reads_local_indexes_from_the_project_directory(
    tmp_path: Path,
) -> None:
    # as `idx-auth resolve` does in the pip model: a relative path starts at the project
    project = tmp_path / "proj"
    (project / "wheels").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[[tool.uv.index]]\nname = "local"\nurl = "./wheels"\nformat = "flat"\n'
    )
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path)}
    settings, _, roots = lock_scope(project, env, read_project(project))
    assert settings.mode == "pip" and roots == ()
    local = next(i for i in settings.indexes if i.name == "local")
    assert local.url == (project / "wheels").as_uri()


def test_lock_scope_in_a_workspace_takes_the_roots_settings_and_every_group(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    member = root / "app"
    member.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0"\ndependencies = []\n\n'
        '[tool.uv.workspace]\nmembers = ["app"]\n\n'
        '[[tool.uv.index]]\nname = "corp"\nurl = "https://corp.example/simple"\n'
    )
    (member / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["six"]\n\n'
        '[dependency-groups]\ndev = ["pytest"]\n'
    )
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path)}
    settings, _, roots = lock_scope(member, env, read_project(member))
    assert settings.mode == "project"
    assert [i.name for i in settings.indexes][:1] == ["corp"]
    assert {"six", "pytest"} <= set(roots)
