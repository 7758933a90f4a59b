"""uv 0.13's own parser reads our encrypted store, and our import/export speak its plaintext."""

from __future__ import annotations

import os
from pathlib import Path

from store.dirs import Dirs
from store.vault import Vault
from tests.e2e.conftest import run


def test_uv_parses_our_store_with_every_kind_of_entry(uv: str, idx_auth: str, dirs: Dirs) -> None:
    assert (
        run(
            [idx_auth, "login", "https://h.example/simple", "-u", "alice", "--password", "-"],
            stdin="pw\n",
        ).returncode
        == 0
    )
    assert run([idx_auth, "login", "example.org", "--token", "-"], stdin="tok\n").returncode == 0
    v = Vault(dirs)
    v.login("a keyring name", "bob", "x", plain=True)
    v.login("https://b.example/api", None, "bearer-tok", "bearer")
    from datetime import UTC, datetime

    v.login(
        "https://c.example/",
        "aws",
        "short-lived",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        refresh={"provider": "command", "command": "echo hi", "secret-x": "hidden"},
    )
    # Format 2: every entry and the header carry a mac, which uv must ignore like our other keys.
    text = dirs.store_file.read_text()
    assert "format = 2" in text and text.count('mac = "mac:v1:') == 6
    env = dict(os.environ, UV_CREDENTIALS_DIR=str(dirs.data))
    got = run([uv, "auth", "token", "https://h.example/simple/", "-u", "alice"], env=env)
    assert got.returncode == 0, got.stderr
    # uv sees the sealed value, never the secret: the file holds no plaintext.
    assert got.stdout.startswith("enc:v1:") and "pw" not in got.stdout
    got = run([uv, "auth", "token", "https://c.example/", "-u", "aws"], env=env)
    assert got.returncode == 0, got.stderr
    assert "hidden" not in dirs.store_file.read_text()


def test_uv_reports_no_parse_error_on_an_empty_store(uv: str, idx_auth: str, dirs: Dirs) -> None:
    run([idx_auth, "login", "https://h.example/", "-u", "a", "--password", "-"], stdin="pw\n")
    run([idx_auth, "logout", "https://h.example/", "-u", "a"])
    assert "credential = []" in dirs.store_file.read_text()
    env = dict(os.environ, UV_CREDENTIALS_DIR=str(dirs.data))
    got = run([uv, "auth", "token", "https://h.example/", "-u", "a"], env=env)
    assert "parse" not in got.stderr.lower()


def test_import_what_uv_wrote_and_export_what_uv_reads(
    uv: str, idx_auth: str, dirs: Dirs, tmp_path: Path
) -> None:
    uv_dir = tmp_path / "uv-store"
    env = dict(os.environ, UV_CREDENTIALS_DIR=str(uv_dir))
    assert (
        run(
            [uv, "auth", "login", "https://h.example/simple/", "-u", "alice", "--password", "-"],
            stdin="pa\n",
            env=env,
        ).returncode
        == 0
    )
    assert (
        run(
            [uv, "auth", "login", "https://t.example", "--token", "-"], stdin="tt\n", env=env
        ).returncode
        == 0
    )
    got = run([idx_auth, "import"], env=env)
    assert got.returncode == 0, got.stderr
    assert "2 added" in got.stderr
    assert run([idx_auth, "token", "https://h.example/", "-u", "alice"]).stdout == "pa\n"

    out_dir = tmp_path / "exported"
    got = run([idx_auth, "export", "--plaintext", str(out_dir / "credentials.toml")])
    assert got.returncode == 0, got.stderr
    env = dict(os.environ, UV_CREDENTIALS_DIR=str(out_dir))
    assert (
        run([uv, "auth", "token", "https://h.example/pkg", "-u", "alice"], env=env).stdout == "pa\n"
    )
    assert run([uv, "auth", "token", "https://t.example/"], env=env).stdout == "tt\n"
