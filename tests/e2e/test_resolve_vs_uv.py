"""Differential tests: real uv 0.13.9 and ``idx-auth resolve`` must pick the same version from
the same index, on loopback indexes served by the test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.differential import (
    IDX_AUTH,
    Outcome,
    credential_of,
    isolated_env,
    ours,
    uv_compile,
)
from tests.e2e.index_server import IndexServer, IndexSpec, Release, serve

pytestmark = pytest.mark.timeout(180)

R = Release


def both(
    project: Path, env: dict[str, str], reqs: list[str], *args: str, pyproject: bool = False
) -> tuple[Outcome, Outcome]:
    uv = uv_compile(project, env, None if pyproject else reqs, *args)
    mine = ours(project, env, [] if pyproject else reqs, *args)
    return uv, mine


def assert_same(uv: Outcome, mine: Outcome, expected: dict[str, tuple[str, str]]) -> None:
    assert uv.code == 0, uv.stderr
    assert mine.code == 0, mine.stderr
    expected = {k: (v, url.rstrip("/")) for k, (v, url) in expected.items()}
    assert uv.picks == expected, uv.stdout
    assert mine.picks == expected, mine.stdout


def write_project(project: Path, body: str, deps: list[str] | None = None) -> None:
    dep_list = ", ".join(f'"{d}"' for d in deps or [])
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{dep_list}]\n\n{body}"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "project"
    p.mkdir()
    return p


def test_first_index_takes_first_index_with_the_package(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("a", {"foo": [R("1.0")]}, format="html"),
        IndexSpec("b", {"foo": [R("2.0")], "bar": [R("1.0"), R("1.5")]}, format="json"),
    ]
    with serve(specs) as s:
        env = isolated_env(tmp_path)
        uv, mine = both(
            project, env, ["foo", "bar"], "--index", s.url("a"), "--default-index", s.url("b")
        )
        assert_same(uv, mine, {"foo": ("1.0", s.url("a")), "bar": ("1.5", s.url("b"))})


def test_first_index_does_not_look_further_for_a_matching_version(
    project: Path, tmp_path: Path
) -> None:
    specs = [IndexSpec("a", {"foo": [R("1.0")]}), IndexSpec("b", {"foo": [R("2.0")]})]
    with serve(specs) as s:
        env = isolated_env(tmp_path)
        uv, mine = both(
            project, env, ["foo>=2"], "--index", s.url("a"), "--default-index", s.url("b")
        )
        assert uv.code != 0
        assert mine.code == 1
        assert "first-index" in mine.stderr


@pytest.mark.parametrize(
    ("strategy", "expected_key", "expected_version"),
    [("unsafe-first-match", "a", "1.0"), ("unsafe-best-match", "b", "2.0")],
)
def test_unsafe_strategies(
    project: Path, tmp_path: Path, strategy: str, expected_key: str, expected_version: str
) -> None:
    specs = [
        IndexSpec("a", {"foo": [R("1.0")], "bar": [R("0.5")]}, format="html"),
        IndexSpec("b", {"foo": [R("2.0")], "bar": [R("1.0")]}, format="json"),
    ]
    with serve(specs) as s:
        env = isolated_env(tmp_path)
        args = ["--index", s.url("a"), "--default-index", s.url("b"), "--index-strategy", strategy]
        uv, mine = both(project, env, ["foo", "bar>=0.9"], *args)
        assert_same(
            uv,
            mine,
            {"foo": (expected_version, s.url(expected_key)), "bar": ("1.0", s.url("b"))},
        )


def test_strategy_and_indexes_from_pyproject_and_env(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("a", {"foo": [R("1.0")]}),
        IndexSpec("b", {"foo": [R("3.0")]}),
        IndexSpec("c", {"foo": [R("2.0")], "bar": [R("1.0")]}),
    ]
    with serve(specs) as s:
        write_project(
            project,
            f'[tool.uv]\nindex-strategy = "unsafe-best-match"\n\n'
            f'[[tool.uv.index]]\nname = "a"\nurl = "{s.url("a")}"\n\n'
            f'[[tool.uv.index]]\nname = "c"\nurl = "{s.url("c")}"\ndefault = true\n',
        )
        env = isolated_env(tmp_path, UV_INDEX=f"b={s.url('b')}")
        uv, mine = both(project, env, ["foo", "bar"])
        assert_same(uv, mine, {"foo": ("3.0", s.url("b")), "bar": ("1.0", s.url("c"))})


def test_explicit_index_serves_only_pinned_packages(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("private", {"foo": [R("1.0")], "bar": [R("9.0")]}),
        IndexSpec("public", {"foo": [R("9.0")], "bar": [R("1.0")]}),
    ]
    with serve(specs) as s:
        write_project(
            project,
            f'[[tool.uv.index]]\nname = "private"\nurl = "{s.url("private")}"\nexplicit = true\n\n'
            f'[[tool.uv.index]]\nname = "public"\nurl = "{s.url("public")}"\ndefault = true\n\n'
            '[tool.uv.sources]\nfoo = { index = "private" }\n',
            deps=["foo", "bar"],
        )
        env = isolated_env(tmp_path)
        uv, mine = both(project, env, [], pyproject=True)
        assert_same(uv, mine, {"foo": ("1.0", s.url("private")), "bar": ("1.0", s.url("public"))})


def test_marker_split_pins_follow_the_target_platform(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("linux", {"foo": [R("1.0")]}),
        IndexSpec("other", {"foo": [R("2.0")]}),
        IndexSpec("public", {"foo": [R("3.0")]}),
    ]
    with serve(specs) as s:
        write_project(
            project,
            f'[[tool.uv.index]]\nname = "linux"\nurl = "{s.url("linux")}"\nexplicit = true\n\n'
            f'[[tool.uv.index]]\nname = "other"\nurl = "{s.url("other")}"\nexplicit = true\n\n'
            f'[[tool.uv.index]]\nname = "public"\nurl = "{s.url("public")}"\ndefault = true\n\n'
            "[tool.uv.sources]\nfoo = [\n"
            '  { index = "linux", marker = "sys_platform == \'linux\'" },\n'
            '  { index = "other", marker = "sys_platform != \'linux\'" },\n]\n',
            deps=["foo"],
        )
        env = isolated_env(tmp_path)
        for platform, key, version in (("linux", "linux", "1.0"), ("macos", "other", "2.0")):
            uv, mine = both(project, env, [], "--python-platform", platform, pyproject=True)
            assert_same(uv, mine, {"foo": (version, s.url(key))})


def test_specifiers_prereleases_yanked_and_requires_python(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec(
            "a",
            {
                "stable": [R("1.0"), R("1.1b1")],
                "explicit": [R("1.0"), R("1.1b1")],
                "onlypre": [R("0.1a1"), R("0.2a1")],
                "ranged": [R("1.0"), R("1.9"), R("2.0")],
                "yanked": [R("1.0"), R("1.1", yanked=True)],
                "pinned": [R("1.0"), R("1.1", yanked=True)],
                "newpy": [R("1.0"), R("2.0", requires_python=">=3.99")],
            },
            format="html",
        )
    ]
    with serve(specs) as s:
        env = isolated_env(tmp_path)
        reqs = [
            "stable",
            "explicit>=1.1b1",
            "onlypre",
            "ranged>=1.0,<2",
            "yanked",
            "pinned==1.1",
            "newpy",
        ]
        uv, mine = both(project, env, reqs, "--default-index", s.url("a"))
        a = s.url("a")
        assert_same(
            uv,
            mine,
            {
                "stable": ("1.0", a),
                "explicit": ("1.1b1", a),
                "onlypre": ("0.2a1", a),
                "ranged": ("1.9", a),
                "yanked": ("1.0", a),
                "pinned": ("1.1", a),
                "newpy": ("1.0", a),
            },
        )


def test_401_stops_the_search_and_404_continues(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("gone", {}, status={"foo": 404}),
        IndexSpec("locked", {"foo": [R("1.0")]}, auth=("u", "p")),
        IndexSpec("public", {"foo": [R("2.0")], "bar": [R("1.0")]}),
    ]
    with serve(specs) as s:
        env = isolated_env(tmp_path)
        args = ["--index", s.url("gone"), "--index", s.url("locked")]
        args += ["--default-index", s.url("public")]
        uv, mine = both(project, env, ["foo"], *args)
        assert uv.code != 0
        assert mine.code == 1
        assert "401" in mine.stderr
        assert s.requests_for("public") == []  # nobody fell through to the default index


def test_ignore_error_codes_lets_the_search_continue(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("locked", {"foo": [R("1.0")]}, auth=("u", "p")),
        IndexSpec("public", {"foo": [R("2.0")]}),
    ]
    with serve(specs) as s:
        write_project(
            project,
            f'[[tool.uv.index]]\nname = "locked"\nurl = "{s.url("locked")}"\n'
            "ignore-error-codes = [401]\n\n"
            f'[[tool.uv.index]]\nname = "public"\nurl = "{s.url("public")}"\ndefault = true\n',
        )
        env = isolated_env(tmp_path)
        uv, mine = both(project, env, ["foo"])
        assert_same(uv, mine, {"foo": ("2.0", s.url("public"))})


def _auth_project(project: Path, s: IndexServer, authenticate: str) -> None:
    write_project(
        project,
        f'[[tool.uv.index]]\nname = "locked"\nurl = "{s.url("locked")}"\n'
        f'authenticate = "{authenticate}"\n\n'
        f'[[tool.uv.index]]\nname = "public"\nurl = "{s.url("public")}"\ndefault = true\n',
    )


def _netrc(tmp_path: Path, user: str = "u", password: str = "p") -> str:
    path = tmp_path / "netrc"
    path.write_text(f"machine 127.0.0.1 login {user} password {password}\n")
    path.chmod(0o600)
    return str(path)


def test_authenticate_always_sends_netrc_credentials_up_front(
    project: Path, tmp_path: Path
) -> None:
    specs = [
        IndexSpec("locked", {"foo": [R("1.0")]}, auth=("u", "p"), format="json"),
        IndexSpec("public", {"foo": [R("2.0")]}),
    ]
    with serve(specs) as s:
        _auth_project(project, s, "always")
        env = isolated_env(tmp_path, NETRC=_netrc(tmp_path))
        uv, mine = both(project, env, ["foo"])
        assert_same(uv, mine, {"foo": ("1.0", s.url("locked"))})
        assert credential_of(mine, "foo") == "netrc"
        assert all(r.authorization for r in s.requests_for("locked"))


def test_authenticate_never_does_not_search(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("locked", {"foo": [R("1.0")]}, auth=("u", "p")),
        IndexSpec("public", {"foo": [R("2.0")]}),
    ]
    with serve(specs) as s:
        _auth_project(project, s, "never")
        env = isolated_env(tmp_path, NETRC=_netrc(tmp_path))
        uv, mine = both(project, env, ["foo"])
        assert uv.code != 0
        assert mine.code == 1
        assert all(r.authorization is None for r in s.requests_for("locked"))


def test_auto_retries_with_netrc_env_and_url_credentials(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("n", {"foo": [R("1.0")]}, auth=("u", "p")),
        IndexSpec("e", {"bar": [R("1.0")]}, auth=("eu", "ep")),
        IndexSpec("public", {"foo": [R("2.0")], "bar": [R("2.0")], "baz": [R("1.0")]}),
    ]
    with serve(specs) as s:
        url_index = s.url("e").replace("http://", "http://eu:ep@")
        env = isolated_env(
            tmp_path,
            NETRC=_netrc(tmp_path),
            UV_INDEX_N_USERNAME="u",
            UV_INDEX_N_PASSWORD="p",
        )
        args = ["--index", f"n={s.url('n')}", "--index", url_index]
        args += ["--default-index", s.url("public")]
        uv, mine = both(project, env, ["foo", "bar", "baz"], *args)
        assert uv.code == 0, uv.stderr
        assert mine.code == 0, mine.stderr
        assert mine.picks == uv.picks
        assert mine.picks["foo"] == ("1.0", s.url("n"))
        assert credential_of(mine, "foo") == "env"
        assert credential_of(mine, "bar") == "url"
        assert "ep" not in mine.stdout and "ep" not in mine.stderr


def test_flat_index(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("flat", {"foo": [R("1.0"), R("2.0")]}, format="flat"),
        IndexSpec("public", {"foo": [R("3.0")], "bar": [R("1.0")]}),
    ]
    with serve(specs) as s:
        write_project(
            project,
            f'[[tool.uv.index]]\nname = "flat"\nurl = "{s.url("flat")}"\nformat = "flat"\n\n'
            f'[[tool.uv.index]]\nname = "public"\nurl = "{s.url("public")}"\ndefault = true\n',
        )
        env = isolated_env(tmp_path)
        uv, mine = both(project, env, ["foo", "bar"])
        assert_same(uv, mine, {"foo": ("2.0", s.url("flat")), "bar": ("1.0", s.url("public"))})


def test_redirect_to_another_host_carries_no_credentials(project: Path, tmp_path: Path) -> None:
    with serve([IndexSpec("mirror", {"foo": [R("1.0")]})]) as other:
        specs = [
            IndexSpec(
                "locked",
                {"foo": [R("1.0")]},
                auth=("u", "p"),
                redirect={"foo": f"{other.url('mirror')}/foo/"},
            ),
        ]
        with serve(specs) as s:
            env = isolated_env(tmp_path, UV_INDEX_LOCKED_USERNAME="u", UV_INDEX_LOCKED_PASSWORD="p")
            mine = ours(project, env, ["foo"], "--default-index", f"locked={s.url('locked')}")
            assert mine.code == 0, mine.stderr
            assert mine.picks["foo"][0] == "1.0"
            assert s.requests_for("locked")[0].authorization is not None
            assert other.requests_for("mirror")
            assert all(r.authorization is None for r in other.requests_for("mirror"))


def test_credentials_from_our_store_only_where_uv_asks_keyring(
    project: Path, tmp_path: Path
) -> None:
    specs = [
        IndexSpec("locked", {"foo": [R("1.0")]}, auth=("u", "st0red")),
        IndexSpec("public", {"foo": [R("2.0")]}),
    ]
    with serve(specs) as s:
        env = isolated_env(tmp_path, NETRC=str(tmp_path / "no-netrc"))
        login = subprocess.run(
            [str(IDX_AUTH), "login", s.url("locked"), "-u", "u", "--password", "-"],
            input="st0red\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert login.returncode == 0, login.stderr
        # uv runs keyring only with keyring-provider = subprocess and a known username
        args = ["--index", s.url("locked"), "--default-index", s.url("public")]
        refused = ours(project, env, ["foo"], *args)
        assert refused.code == 1
        assert 'keyring-provider = "subprocess"' in refused.stderr
        assert "UV_INDEX" not in refused.stderr  # an unnamed index: the URL is the place
        assert "https://u@" in refused.stderr
        s.seen.clear()
        with_user = s.url("locked").replace("http://", "http://u@")
        args = ["--index", with_user, "--default-index", s.url("public")]
        mine = ours(project, env, ["foo"], *args, "--keyring-provider", "subprocess")
        assert mine.code == 0, mine.stderr
        assert mine.picks == {"foo": ("1.0", s.url("locked"))}
        assert credential_of(mine, "foo") == "store"
        assert "st0red" not in mine.stdout + mine.stderr
        # a username in the URL: uv looks the secret up before the first request
        pages = [r for r in s.requests_for("locked") if r.path.endswith("/foo/")]
        assert [r.authorization is not None for r in pages] == [True]


def test_pip_model_reads_a_pyproject_as_uv_pip_compile_does(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec(
            "pub",
            {"foo": [R("1.0")], "dev1": [R("1.0")], "lint1": [R("1.0")], "ex1": [R("1.0")]},
        )
    ]
    with serve(specs) as s:
        write_project(
            project,
            '[project.optional-dependencies]\nx = ["ex1"]\n\n'
            '[dependency-groups]\ndev = ["dev1"]\nlint = ["lint1"]\n',
            deps=["foo"],
        )
        env = isolated_env(tmp_path)
        pub = s.url("pub")
        for extra, names in (
            ((), {"foo"}),  # uv pip compile adds no default group
            (("--group", "lint"), {"foo", "lint1"}),
            (("--extra", "x"), {"foo", "ex1"}),
        ):
            uv = uv_compile(project, env, None, "--default-index", pub, *extra)
            mine = ours(project, env, [], "--pip", "--no-deps", "--default-index", pub, *extra)
            expected = {n: ("1.0", pub) for n in names}
            assert_same(uv, mine, expected)
            assert mine.doc is not None and mine.doc["model"] == "uv pip compile"
