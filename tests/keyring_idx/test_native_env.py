"""Which variables hand each tool its credentials (pure), and the CI file formats."""

from __future__ import annotations

import subprocess

import pytest

from keyring_idx.ci_env import github_env_block, github_escape, github_masks, shell_exports
from keyring_idx.native_env import (
    Target,
    plan,
    poetry_stem,
    poetry_targets,
    upload_targets,
    upload_url,
    uv_stem,
    uv_targets,
)
from store.credential import Ambiguous, Credential

A = "https://a.example/simple/"
B = "https://b.example/simple/"
C = "https://c.example/simple/"


def test_uv_variable_names_follow_uvs_rule() -> None:
    assert uv_stem("private-idx") == "UV_INDEX_PRIVATE_IDX_"
    assert uv_stem("my.corp_idx2") == "UV_INDEX_MY_CORP_IDX2_"
    assert poetry_stem("my-epic.source") == "POETRY_HTTP_BASIC_MY_EPIC_SOURCE_"


def test_uv_targets_first_name_wins_and_unnamed_are_left_out() -> None:
    targets = uv_targets(
        [
            ("a", A, "auto"),
            (None, "https://anon.example/simple/", "auto"),
            ("a", B, "auto"),  # a second index of the same name: uv uses the first
            ("never", B, "never"),
            ("b", "https://bob@b.example/simple/", "always"),
        ]
    )
    assert [(t.label, t.url, t.username) for t in targets] == [
        ("a", A, None),
        ("b", B, "bob"),
    ]
    assert (targets[1].username_var, targets[1].password_var) == (
        "UV_INDEX_B_USERNAME",
        "UV_INDEX_B_PASSWORD",
    )


def test_upload_url_from_the_command_line_or_the_environment() -> None:
    assert upload_url(["twine", "upload", "--repository-url", A, "x.whl"], {}) == A
    assert upload_url(["uv", "publish", f"--publish-url={A}"], {}) == A
    assert upload_url(["hatch", "publish", "--repo", A], {}) == A
    assert upload_url(["pdm", "publish", "-r", A], {}) == A
    assert upload_url(["twine", "upload", "-r", "testpypi"], {}) is None  # a name
    assert upload_url(["twine", "upload"], {"TWINE_REPOSITORY_URL": B}) == B
    assert upload_url(["twine", "upload"], {"TWINE_REPOSITORY_URL": "testpypi"}) is None
    tools = {t.tool: (t.username_var, t.password_var) for t in upload_targets(A)}
    assert tools == {
        "twine": ("TWINE_USERNAME", "TWINE_PASSWORD"),
        "uv publish": ("UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"),
        "hatch": ("HATCH_INDEX_USER", "HATCH_INDEX_AUTH"),
        "pdm": ("PDM_PUBLISH_USERNAME", "PDM_PUBLISH_PASSWORD"),
    }
    assert upload_targets(None) == []


def cred(username: str | None, secret: str) -> Credential:
    return Credential(
        "https://stored/", username, "bearer" if username is None else "basic", secret
    )


class Store:
    def __init__(self, answers: dict[tuple[str, str | None], Credential | Ambiguous]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, url: str, username: str | None) -> Credential | Ambiguous | None:
        self.asked.append((url, username))
        return self.answers.get((url, username))


def test_plan_sets_each_pair_once_per_credential() -> None:
    store = Store({(A, None): cred("alice", "pw-a"), (B, "bob"): cred("bob", "pw-b")})
    targets = [
        *uv_targets([("a", A, "auto"), ("b", "https://bob@b.example/simple/", "auto")]),
        *poetry_targets([("src", A)]),
    ]
    result = plan(targets, store, {})
    assert result.variables == {
        "UV_INDEX_A_USERNAME": "alice",
        "UV_INDEX_A_PASSWORD": "pw-a",
        "UV_INDEX_B_USERNAME": "bob",
        "UV_INDEX_B_PASSWORD": "pw-b",
        "POETRY_HTTP_BASIC_SRC_USERNAME": "alice",
        "POETRY_HTTP_BASIC_SRC_PASSWORD": "pw-a",
    }
    assert store.asked == [(A, None), (B, "bob")]  # the poetry source reused the answer
    assert "pw-a" not in repr(result)


def test_plan_respects_what_the_environment_already_says() -> None:
    store = Store({(A, "carol"): cred("carol", "pw-c"), (A, None): cred("alice", "pw-a")})
    target = uv_targets([("a", A, "auto")])[0]
    # Only a username given: it selects the credential.
    result = plan([target], store, {"UV_INDEX_A_USERNAME": "carol"})
    assert result.variables["UV_INDEX_A_PASSWORD"] == "pw-c"
    # Both given: left alone.
    result = plan([target], store, {"UV_INDEX_A_USERNAME": "x", "UV_INDEX_A_PASSWORD": "y"})
    assert result.variables == {} and "already set" in result.skipped[0][1]


def test_plan_skips_missing_and_bearer_credentials_with_the_reason() -> None:
    store = Store({(A, None): cred(None, "bearer-token"), (C, None): Ambiguous(C, ("x", "y"))})
    targets = [
        Target("uv", "a", A, "U", "P"),
        Target("uv", "b", B, "U2", "P2", "bob"),
        Target("uv", "c", C, "U3", "P3"),
    ]
    result = plan(targets, store, {})
    assert result.variables == {}
    reasons = [reason for _, reason in result.skipped]
    assert "bearer" in reasons[0] and reasons[1] == "no stored credential for bob"
    assert reasons[2] == "several usernames are stored (x, y); set U3"


def test_github_masks_escape_like_the_actions_toolkit() -> None:
    assert github_escape("a%b\r\nc") == "a%25b%0D%0Ac"
    assert github_masks(["s1", "", "x\ny"]) == "::add-mask::s1\n::add-mask::x%0Ay\n"


def test_github_env_block_refuses_a_delimiter_inside_a_value() -> None:
    assert github_env_block({"A": "1\n2"}, "EOF_x") == "A<<EOF_x\n1\n2\nEOF_x\n"
    with pytest.raises(ValueError):
        github_env_block({"A": "xEOF_xy"}, "EOF_x")


def test_shell_exports_survive_any_value() -> None:
    nasty = {"A": 'it\'s $HOME `id` "q" \\ \n new line', "B": ""}
    script = shell_exports(nasty) + 'printf "%s|%s" "$A" "$B"'
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == f"{nasty['A']}|"
