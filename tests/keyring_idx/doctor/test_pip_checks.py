from __future__ import annotations

from pathlib import Path

from keyring_idx.doctor.pip_checks import PipIndex, check_pip_index, checks, pip_indexes


def test_index_urls_from_the_environment_and_config_files() -> None:
    env = {
        "PIP_INDEX_URL": "https://a@h.example/simple/",
        "PIP_EXTRA_INDEX_URL": "https://x/ https://y/",
    }
    text = "[global]\nextra-index-url =\n  https://b@n.example/repo/simple/\n[install]\nindex-url = https://c.example/\n"
    found = pip_indexes(env, [("/u/pip.conf", text), ("/bad", "no header")])
    assert [(i.url, i.origin) for i in found] == [
        ("https://a@h.example/simple/", "PIP_INDEX_URL"),
        ("https://x/", "PIP_EXTRA_INDEX_URL"),
        ("https://y/", "PIP_EXTRA_INDEX_URL"),
        ("https://b@n.example/repo/simple/", "extra-index-url in /u/pip.conf"),
        ("https://c.example/", "index-url in /u/pip.conf"),
    ]


def test_shown_urls_keep_the_username_and_never_a_password() -> None:
    index = PipIndex("https://alice:hunter2@h.example:8443/simple/", "PIP_INDEX_URL")
    assert index.shown == "https://alice@h.example:8443/simple/"
    assert index.without_user == "https://h.example:8443/simple/"
    assert index.has_password and index.username == "alice"


def test_verdicts_by_what_the_server_answers() -> None:
    index = PipIndex("https://alice@h.example/simple/", "PIP_INDEX_URL")
    forbidden = check_pip_index(index, 403)
    assert forbidden.verdict == "fail" and "403" in forbidden.detail
    assert forbidden.fix.startswith("drop alice@ from the URL (https://h.example/simple/)")
    assert check_pip_index(index, 401).verdict == "ok"
    assert check_pip_index(index, None).verdict == "warn"


def test_only_urls_with_a_username_and_no_password_are_checked(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://bob@h.example/simple/\n")
    env = {
        "PIP_CONFIG_FILE": str(conf),
        "PIP_EXTRA_INDEX_URL": "https://plain.example/ https://u:pw@secret.example/",
        "XDG_CONFIG_HOME": str(tmp_path / "none"),
    }
    asked: list[tuple[str, str]] = []

    def get(url: str, authorization: str) -> int | None:
        asked.append((url, authorization))
        return 403

    found = checks(env, tmp_path, get)
    assert [c.name for c in found] == ["pip[https://bob@h.example/simple/]"]
    assert asked == [("https://h.example/simple/", "Basic Ym9iOg==")]  # bob: (empty password)
    assert "hunter2" not in repr(found)
