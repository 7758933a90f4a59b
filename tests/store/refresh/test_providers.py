"""The provider registry: lookup, missing extras, and translation of unforeseen errors."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from store.errors import StoreError
from store.refresh.errors import ProviderUnavailableError, TokenFetchError, UnknownProviderError
from store.refresh.providers import PROVIDER_NAMES, FetchContext, fetch_token, get_provider
from store.refresh.providers import command as command_module
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_every_name_has_a_provider() -> None:
    for name in PROVIDER_NAMES:
        assert get_provider(name).name == name


def test_one_list_of_providers_names_every_provider_module() -> None:
    # The CLI's --provider choices are this list too (keyring_idx.cli.refresh).
    from pathlib import Path

    import store.refresh.providers as package

    here = Path(package.__file__).parent
    providers = {
        p.stem
        for p in here.glob("*.py")
        if any(line.startswith("PROVIDER") for line in p.read_text().splitlines())
    } - {"__init__"}
    assert providers == set(PROVIDER_NAMES)


def test_unknown_provider() -> None:
    with pytest.raises(UnknownProviderError, match="unknown token provider 'ldap'; choose one"):
        get_provider("ldap")


@pytest.mark.parametrize(
    ("provider", "module", "extra", "settings"),
    [
        (
            "codeartifact",
            "botocore",
            "aws",
            {"domain": "d", "domain-owner": "111122223333", "region": "us-east-1"},
        ),
        ("gcp", "google", "gcp", {}),
        ("azure", "azure", "azure", {}),
    ],
)
def test_missing_extra_names_the_install_command(
    provider: str,
    module: str,
    extra: str,
    settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry in sys.modules makes `import module` fail as if it were not installed.
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ProviderUnavailableError) as info:
        fetch_token(ProviderSpec.build(provider, settings), FetchContext(now=NOW))
    assert f"pip install 'keyring-idx[{extra}]'" in str(info.value)
    assert isinstance(info.value, StoreError) and info.value.exit_code == 2


def test_unforeseen_errors_are_translated_without_their_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(spec: ProviderSpec, ctx: FetchContext) -> Token:
        raise RuntimeError("request body had client_secret=hunter2")

    monkeypatch.setattr(command_module.PROVIDER, "fetch", explode)
    with pytest.raises(TokenFetchError) as info:
        fetch_token(ProviderSpec.build("command", {"command": "x"}), FetchContext(now=NOW))
    assert "RuntimeError" in str(info.value) and "hunter2" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
