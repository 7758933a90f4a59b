from __future__ import annotations

from pathlib import Path

import pytest

from keyring_idx.resolver.config import (
    PYPI_URL,
    CliOptions,
    Index,
    Layer,
    Settings,
    build_settings,
    env_name,
    parse_index_arg,
    strip_userinfo,
)
from keyring_idx.resolver.config_files import read_layers, read_project
from keyring_idx.resolver.errors import ConfigError


def urls(settings: Settings) -> list[str]:
    return [i.url for i in settings.search_order()]


def test_cli_before_config_and_extra_before_index_url() -> None:
    layer = Layer(
        "pyproject.toml",
        {
            "index": [{"name": "cfg", "url": "https://cfg/simple"}],
            "extra-index-url": ["https://cfg-extra/simple"],
            "index-url": "https://cfg-default/simple",
        },
    )
    cli = CliOptions(index=("https://cli/simple",), extra_index_url=("https://cli-extra/simple",))
    settings = build_settings(cli, {}, [layer])
    assert urls(settings) == [
        "https://cli/simple",
        "https://cli-extra/simple",
        "https://cfg/simple",
        "https://cfg-extra/simple",
        "https://cfg-default/simple",
    ]


def test_default_index_flag_beats_configured_default() -> None:
    layer = Layer("uv.toml", {"index": [{"url": "https://cfg/simple", "default": True}]})
    settings = build_settings(CliOptions(default_index="https://flag/simple"), {}, [layer])
    assert urls(settings) == ["https://flag/simple"]


def test_env_is_the_flag_fallback() -> None:
    env = {
        "UV_INDEX": "a=https://a/simple https://b/simple",
        "UV_DEFAULT_INDEX": "https://d/simple",
        "UV_INDEX_STRATEGY": "unsafe-best-match",
    }
    settings = build_settings(CliOptions(), env, [])
    assert urls(settings) == ["https://a/simple", "https://b/simple", "https://d/simple"]
    assert settings.search_order()[0].name == "a"
    assert settings.strategy == "unsafe-best-match"
    flags = build_settings(CliOptions(index=("https://c/simple",)), env, [])
    assert urls(flags) == ["https://c/simple", "https://d/simple"]


def test_first_name_wins_explicit_hidden_pypi_last() -> None:
    layers = [
        Layer("project", {"index": [{"name": "x", "url": "https://project/simple"}]}),
        Layer(
            "user",
            {
                "index": [
                    {"name": "x", "url": "https://user/simple"},
                    {"name": "hidden", "url": "https://hidden/simple", "explicit": True},
                ]
            },
        ),
    ]
    settings = build_settings(CliOptions(), {}, layers)
    assert urls(settings) == ["https://project/simple", PYPI_URL]
    assert settings.named("hidden").explicit


def test_pip_table_and_index_fields() -> None:
    layer = Layer(
        "uv.toml",
        {
            "index-strategy": "first-index",
            "pip": {"index-strategy": "unsafe-first-match"},
            "index": [
                {
                    "name": "f",
                    "url": "https://f/",
                    "format": "flat",
                    "authenticate": "always",
                    "ignore-error-codes": [403],
                }
            ],
        },
    )
    settings = build_settings(CliOptions(), {}, [layer])
    assert settings.strategy == "unsafe-first-match"
    index = settings.search_order()[0]
    assert (index.format, index.authenticate, index.ignore_error_codes) == (
        "flat",
        "always",
        frozenset({403}),
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"url": "https://x/simple", "explicit": True},
        {"url": "https://x/simple", "authenticate": "sometimes"},
        {"url": "https://u:p@x/simple", "authenticate": "never", "name": "x"},
        {"url": "ftp://x/simple"},
        {"name": "no-url"},
    ],
)
def test_invalid_index_entries(entry: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        build_settings(CliOptions(), {}, [Layer("uv.toml", {"index": [entry]})])


def test_invalid_strategy() -> None:
    with pytest.raises(ConfigError, match="unknown index strategy"):
        build_settings(CliOptions(index_strategy="fastest"), {}, [])


def test_system_certs_and_insecure_hosts() -> None:
    layer = Layer("uv.toml", {"system-certs": True, "allow-insecure-host": ["b"]})
    settings = build_settings(CliOptions(allow_insecure_host=("a",)), {}, [layer])
    assert settings.system_certs
    assert settings.allow_insecure_host == ("a", "b")
    assert build_settings(CliOptions(), {"UV_SYSTEM_CERTS": "true"}, []).system_certs


def test_helpers() -> None:
    assert env_name("my-index.prod") == "MY_INDEX_PROD"
    assert strip_userinfo("https://u:p@h:8/x") == "https://h:8/x"
    idx = parse_index_arg("n=https://u@h/simple", default=False, origin="cli")
    assert (idx.name, idx.display_url) == ("n", "https://h/simple")
    assert parse_index_arg("https://h/a=b", default=False, origin="cli").name is None
    assert Index(url="https://u:p@h/").display_url == "https://h/"


def test_read_layers_prefers_uv_toml_and_user_config(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["foo>=1"]\n'
        '[tool.uv]\nindex-url = "https://ignored/simple"\n'
        '[tool.uv.sources]\nfoo = [{ index = "a", marker = "sys_platform == \'linux\'" }]\n'
    )
    (project / "uv.toml").write_text('index-url = "https://uvtoml/simple"\n')
    user = tmp_path / "cfg" / "uv"
    user.mkdir(parents=True)
    (user / "uv.toml").write_text('extra-index-url = ["https://user/simple"]\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    layers = read_layers(project, env)
    assert [Path(layer.origin).name for layer in layers] == ["uv.toml", "uv.toml"]
    settings = build_settings(CliOptions(), env, layers)
    assert urls(settings) == ["https://user/simple", "https://uvtoml/simple"]
    assert read_layers(project, {**env, "UV_NO_CONFIG": "1"}) == []
    proj = read_project(project)
    assert proj.dependencies == ("foo>=1",)
    assert proj.sources["foo"][0].marker == "sys_platform == 'linux'"


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "uv.toml").write_text("index-url = [")
    with pytest.raises(ConfigError, match=r"uv\.toml"):
        read_layers(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "c")})


def test_project_and_pip_models_order_indexes_as_uv_does() -> None:
    layer = Layer(
        "pyproject.toml",
        {
            "index": [{"name": "cfg", "url": "https://cfg/simple"}],
            "extra-index-url": ["https://cfg-extra/simple"],
            "index-url": "https://cfg-default/simple",
            "pip": {"extra-index-url": ["https://pip-extra/simple"]},
        },
    )
    env = {"UV_EXTRA_INDEX_URL": "https://env-extra/simple"}
    lock = build_settings(CliOptions(), env, [layer], mode="project")
    assert urls(lock) == [
        "https://cfg/simple",
        "https://env-extra/simple",
        "https://cfg-extra/simple",
        "https://cfg-default/simple",
    ]
    pip = build_settings(CliOptions(), env, [layer], mode="pip")
    assert urls(pip) == [
        "https://env-extra/simple",
        "https://cfg/simple",
        "https://pip-extra/simple",
        "https://cfg-extra/simple",
        "https://cfg-default/simple",
    ]


def test_default_true_beats_index_url_and_explicit_default_drops_pypi() -> None:
    layer = Layer(
        "pyproject.toml",
        {
            "index-url": "https://old/simple",
            "index": [{"url": "https://d/simple", "default": True}],
        },
    )
    assert urls(build_settings(CliOptions(), {}, [layer], mode="project")) == ["https://d/simple"]
    private = Layer(
        "pyproject.toml",
        {"index": [{"name": "p", "url": "https://p/simple", "default": True, "explicit": True}]},
    )
    settings = build_settings(CliOptions(), {}, [private], mode="project")
    assert settings.search_order() == ()
    assert settings.named("p").url == "https://p/simple"


def test_a_pin_may_name_only_a_pyproject_or_command_line_index() -> None:
    uv_toml = Layer("uv.toml", {"index": [{"name": "pub", "url": "https://pub/simple"}]})
    declared = (Index(url="https://priv/simple", name="priv", explicit=True),)
    settings = build_settings(
        CliOptions(index=("cli=https://cli/simple",)),
        {},
        [uv_toml],
        mode="project",
        project_indexes=declared,
    )
    assert settings.named("priv").url == "https://priv/simple"
    assert settings.named("cli").url == "https://cli/simple"
    with pytest.raises(ConfigError, match=r"undeclared index: `pub`.*uv\.toml"):
        settings.named("pub", "foo")


def test_version_settings_and_find_links(tmp_path: Path) -> None:
    layer = Layer(
        "pyproject.toml",
        {
            "prerelease": "allow",
            "resolution": "lowest",
            "exclude-newer": "2024-01-31",
            "keyring-provider": "subprocess",
            "find-links": ["./wheels", "https://h/links/"],
            "constraint-dependencies": ["a<2"],
            "override-dependencies": ["b==1"],
            "pip": {"keyring-provider": "disabled"},
        },
    )
    s = build_settings(CliOptions(), {}, [layer], mode="project", base_dir=str(tmp_path))
    assert (s.prerelease, s.resolution, s.keyring_provider) == ("allow", "lowest", "subprocess")
    assert s.exclude_newer == "2024-01-31T00:00:00Z"
    assert [f.url for f in s.find_links] == [(tmp_path / "wheels").as_uri(), "https://h/links/"]
    assert (s.constraints, s.overrides) == (("a<2",), ("b==1",))
    pip = build_settings(CliOptions(prerelease="disallow"), {}, [layer], mode="pip")
    assert (pip.prerelease, pip.keyring_provider) == ("disallow", "disabled")
    with pytest.raises(ConfigError, match="exclude-newer"):
        build_settings(CliOptions(exclude_newer="last week"), {}, [])


def test_a_bad_setting_names_where_it_came_from() -> None:
    layer = Layer("/p/uv.toml", {"prerelease": "sometimes"})
    with pytest.raises(ConfigError, match=r"prerelease 'sometimes' from /p/uv\.toml"):
        build_settings(CliOptions(), {}, [layer])
    with pytest.raises(ConfigError, match="keyring-provider 'import' from UV_KEYRING_PROVIDER"):
        build_settings(CliOptions(), {"UV_KEYRING_PROVIDER": "import"}, [])


def test_the_default_index_of_an_explicit_default() -> None:
    private = Layer(
        "pyproject.toml",
        {"index": [{"name": "p", "url": "https://p/simple", "default": True, "explicit": True}]},
    )
    settings = build_settings(CliOptions(), {}, [private], mode="project")
    assert settings.search_order() == ()
    assert settings.default_index().url == "https://p/simple"
    assert build_settings(CliOptions(), {}, []).default_index().url == PYPI_URL
