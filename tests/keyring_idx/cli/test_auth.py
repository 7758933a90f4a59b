from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from store.dirs import Dirs
from store.model import Credential
from store.vault import Vault
from tests.keyring_idx.cli.conftest import Cli
from tests.store.reading import read_credential


def found(cred: Credential | None) -> Credential:
    assert cred is not None
    return cred


def test_login_token_logout_round_trip(cli: Cli, dirs: Dirs) -> None:
    code, out, err = cli(
        "login", "https://h.example/simple/", "-u", "alice", "--password", "-", stdin="s3cret\n"
    )
    assert (code, out) == (0, "")
    assert err.strip() == "Stored credentials for alice@https://h.example/"
    assert cli("token", "https://h.example/simple/pkg", "-u", "alice") == (0, "s3cret\n", "")
    code, out, err = cli("logout", "https://h.example/simple", "-u", "alice")
    assert code == 0 and "Removed credentials for alice@https://h.example/" in err
    code, out, err = cli("token", "https://h.example/", "-u", "alice")
    assert code == 1 and out == "" and "No credentials found" in err


def test_token_flag_stores_dunder_token(cli: Cli, dirs: Dirs) -> None:
    code, _, err = cli("login", "example.org", "--token", "-", stdin="tok\n")
    assert code == 0 and err.strip() == "Stored credentials for https://example.org/"
    assert cli("token", "https://example.org/x/y") == (0, "tok\n", "")
    assert cli("logout", "example.org")[0] == 0


def test_username_from_url(cli: Cli, dirs: Dirs) -> None:
    assert cli("login", "https://al@h.example/", "--password", "-", stdin="pw\n")[0] == 0
    assert found(read_credential(Vault(dirs), "https://h.example/", "al")).secret == "pw"
    assert "al@" not in dirs.store_file.read_text().split("service")[1].split("\n")[0]


@pytest.mark.parametrize(
    ("argv", "stdin", "needle"),
    [
        (
            ("login", "https://h.example/", "-u", "a", "--password", "hunter2"),
            "",
            "refusing a secret",
        ),
        (("login", "https://u:hunter2@h.example/"), "", "refusing a password inside the URL"),
        (
            ("login", "https://al@h.example/", "-u", "bob", "--password", "-"),
            "x\n",
            "both via the URL",
        ),
        (("login", "https://h.example/", "-t", "-", "-u", "x"), "t\n", "cannot be used with"),
        (("login", "https://h.example/"), "", "No username provided"),
        (
            ("login", "https://h.example/", "-u", "", "--password", "-"),
            "x\n",
            "Username cannot be empty",
        ),
        (("login", "https://h.example/", "-u", "a", "--password", "-"), "\n", "empty password"),
        (
            ("login", "http://example.net/", "-u", "a", "--password", "-"),
            "x\n",
            "HTTPS is required",
        ),
        (("login", "example.com:8080", "-u", "a", "--password", "-"), "x\n", "example.com:8080"),
        (("login", "https://h.example/", "-u", "a"), "", "stdin is not a terminal"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_never_echoes_secrets(
    cli: Cli, dirs: Dirs, argv: tuple[str, ...], stdin: str, needle: str
) -> None:
    code, out, err = cli(*argv, stdin=stdin)
    assert code == 2, err
    assert out == ""
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "hunter2" not in err
    assert not dirs.store_file.exists()


def test_logout_of_unknown_entry_exits_1(cli: Cli, dirs: Dirs) -> None:
    code, _, err = cli("logout", "https://h.example/", "-u", "nobody")
    assert code == 1 and "No matching entry found" in err


def test_list_json_never_shows_secrets(cli: Cli, dirs: Dirs) -> None:
    cli("login", "https://h.example/", "-u", "alice", "--password", "-", stdin="topsecret\n")
    Vault(dirs).login("keyring-name", "bob", "alsosecret", plain=True)
    code, out, _ = cli("list", "--json")
    assert code == 0 and "secret" not in out.replace("has_secret", "")
    items = json.loads(out)
    assert {(i["service"], i["username"], i["scheme"], i["kind"]) for i in items} == {
        ("https://h.example/", "alice", "basic", "index"),
        ("keyring-name", "bob", "basic", "keyring"),
    }
    code, out, err = cli("list")
    assert code == 0 and out == "" and "alice" in err and "topsecret" not in err


def test_dir_prints_the_data_dir(cli: Cli, dirs: Dirs) -> None:
    assert cli("dir") == (0, f"{dirs.data}\n", "")


def test_import_from_uv_default_location_and_export_round_trip(
    cli: Cli, dirs: Dirs, tmp_path: Path
) -> None:
    uv_dir = tmp_path / "uvcreds"
    uv_dir.mkdir()
    (uv_dir / "credentials.toml").write_text(
        '[[credential]]\nservice = "https://a.example/"\nusername = "alice"\nscheme = "basic"\n'
        'password = "pa"\n\n[[credential]]\nservice = "https://b.example/api"\nscheme = "bearer"\n'
        'token = "tb"\n\n[[credential]]\nservice = "https://bob:pw@c.example/"\nusername = "bob"\n'
        'scheme = "basic"\npassword = "pw"\n'
    )
    os.environ["UV_CREDENTIALS_DIR"] = str(uv_dir)
    Vault(dirs).login("https://a.example/", "alice", "old")
    # A different secret for a key we hold: nothing is imported until --replace says so.
    code, _, err = cli("import")
    assert code == 2 and err.count("\n") == 1
    assert "different secret" in err and "alice@https://a.example/" in err and "--replace" in err
    assert found(read_credential(Vault(dirs), "https://a.example/", "alice")).secret == "old"
    assert read_credential(Vault(dirs), "https://c.example/", "bob") is None
    code, _, err = cli("import", "--replace")
    assert code == 0, err
    assert "3 credentials" in err and "2 added, 1 replaced, 0 already the same" in err
    code, _, err = cli("import")
    assert code == 0 and "0 added, 0 replaced, 3 already the same" in err
    v = Vault(dirs)
    assert found(read_credential(v, "https://a.example/", "alice")).secret == "pa"
    bearer = read_credential(v, "https://b.example/api/x", None)
    assert bearer is not None and bearer.scheme == "bearer" and bearer.secret == "tb"
    assert found(read_credential(v, "https://c.example/", "bob")).service == "https://c.example/"

    out_path = tmp_path / "out" / "credentials.toml"
    code, out, err = cli("export", "--plaintext", str(out_path))
    assert code == 0 and out == "" and "CLEAR" in err
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o600
    assert 'token = "tb"' in out_path.read_text()
    code, _, err = cli("export", "--plaintext", str(out_path))
    assert code == 2 and "--force" in err
    code, out, _ = cli("export", "--plaintext", "-")
    assert code == 0 and 'password = "pa"' in out


def test_import_refuses_our_own_store(cli: Cli, dirs: Dirs) -> None:
    Vault(dirs).login("https://a.example/", "alice", "x")
    code, _, err = cli("import", str(dirs.store_file))
    assert code == 2 and "not a uv credentials file" in err


def test_rekey_keeps_entries(cli: Cli, dirs: Dirs) -> None:
    cli("login", "https://h.example/", "-u", "alice", "--password", "-", stdin="pw\n")
    code, _, err = cli("rekey")
    assert code == 0 and "Re-encrypted" in err
    assert cli("token", "https://h.example/", "-u", "alice")[1] == "pw\n"


def test_corrupt_store_exits_2_naming_the_file(cli: Cli, dirs: Dirs) -> None:
    cli("login", "https://h.example/", "-u", "alice", "--password", "-", stdin="pw\n")
    dirs.store_file.write_text("credential = [")
    before = dirs.store_file.read_text()
    code, _, err = cli("login", "https://h.example/", "-u", "bob", "--password", "-", stdin="x\n")
    assert code == 2 and str(dirs.store_file) in err and len(err.strip().splitlines()) == 1
    assert dirs.store_file.read_text() == before


def test_passphrase_store_from_the_ci_passphrase_file(
    cli: Cli, dirs: Dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse battery staple\n")
    phrase.chmod(0o600)  # a passphrase file must be private
    monkeypatch.setenv("IDX_AUTH_KEY_SOURCE", "passphrase")
    monkeypatch.setenv("IDX_AUTH_PASSPHRASE_FILE", str(phrase))
    assert cli("login", "https://h.example/", "-u", "a", "--password", "-", stdin="pw\n")[0] == 0
    assert not dirs.key_file.exists()  # nothing but the passphrase opens it
    assert cli("token", "https://h.example/", "-u", "a") == (0, "pw\n", "")
    phrase.write_text("wrong horse\n")
    code, out, err = cli("token", "https://h.example/", "-u", "a")
    assert (code, out) == (2, "") and "wrong passphrase" in err and "horse" not in err
    monkeypatch.delenv("IDX_AUTH_PASSPHRASE_FILE")
    code, _, err = cli("token", "https://h.example/", "-u", "a")  # stdin is no terminal here
    assert code == 2 and "IDX_AUTH_PASSPHRASE_FILE" in err


def test_key_file_open_to_others_is_refused(cli: Cli, dirs: Dirs) -> None:
    cli("login", "https://h.example/", "-u", "a", "--password", "-", stdin="pw\n")
    dirs.key_file.chmod(0o644)
    code, out, err = cli("token", "https://h.example/", "-u", "a")
    assert (code, out) == (2, "") and "mode 0644" in err and str(dirs.key_file) in err


def test_token_without_a_username_names_the_stored_ones(cli: Cli, dirs: Dirs) -> None:
    Vault(dirs).login("https://h.example/api", "alice", "pw")
    code, out, err = cli("token", "https://h.example/api/simple/")
    assert (code, out) == (1, "")
    assert err == (
        "idx-auth: error: No credentials found for __token__@https://h.example/api/simple/; "
        "stored for this URL under alice: pass -u alice\n"
    )
    Vault(dirs).login("https://h.example/", "bob", "pw")
    code, _, err = cli("token", "https://h.example/api/simple/")
    assert code == 1 and "under alice, bob: pass -u USER" in err
    code, _, err = cli("token", "https://other.example/")
    assert code == 1 and err.endswith("__token__@https://other.example/\n")


def test_a_passphrase_not_chosen_yet_is_not_called_the_stores(
    cli: Cli, dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a terminal: choosing a new passphrase (rekey, a new store) says that, instead
    of claiming the store is already protected by one."""
    cli("login", "https://h.example/", "-u", "alice", "--password", "-", stdin="pw\n")
    code, _, err = cli("rekey", "--key-source", "passphrase")
    assert code == 2 and "a new passphrase is needed" in err
    assert "protected by a passphrase" not in err
    assert cli("token", "https://h.example/", "-u", "alice")[1] == "pw\n"  # still the key file
    monkeypatch.setenv("IDX_AUTH_KEY_SOURCE", "passphrase")
    monkeypatch.setenv("IDX_AUTH_DATA_DIR", str(dirs.data.parent / "fresh"))
    code, _, err = cli("login", "https://h.example/", "-u", "bob", "--password", "-", stdin="x\n")
    assert code == 2 and "a new passphrase is needed" in err


def test_list_escapes_control_characters_in_usernames_and_services(cli: Cli, dirs: Dirs) -> None:
    # A username (or a keyring service name) set by another program can hold escape
    # sequences and newlines: `list` must not recolour the terminal or forge a line.
    evil = "bob\x1b[2J\x1b[31m\rroot\nalice"
    Vault(dirs).login("https://pkgs.example", evil, "pw-1")
    Vault(dirs).login("plain\x1b]0;title\x07name", "carol", "pw-2", plain=True)
    code, _, err = cli("list")
    assert code == 0
    assert "\x1b" not in err and "\r" not in err and "\x07" not in err
    lines = err.splitlines()
    assert len(lines) == 2, lines
    assert "bob\\x1b[2J" in err and "\\x0aalice" in err
    # JSON keeps the exact value (escaped by JSON itself).
    code, out, _ = cli("list", "--json")
    assert {item["username"] for item in json.loads(out)} == {evil, "carol"}


def test_logout_without_a_username_names_the_stored_ones(cli: Cli, dirs: Dirs) -> None:
    Vault(dirs).login("https://h.example/api", "alice", "pw")
    code, _, err = cli("logout", "https://h.example/api/simple/")
    assert code == 1
    assert err == (
        "idx-auth: error: No matching entry found for https://h.example/api; stored there "
        "under alice: pass -u USER\n"
    )
    assert cli("logout", "https://h.example/api/simple/", "-u", "alice")[0] == 0
