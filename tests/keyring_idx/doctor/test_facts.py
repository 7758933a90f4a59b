"""Facts derived from values: keyring-provider, index coverage by the store, shebangs."""

from __future__ import annotations

from keyring_idx.doctor.facts import (
    configured_indexes,
    index_facts,
    interpreter,
    provider_facts,
    store_coverage,
)
from keyring_idx.doctor.model import StoredCredential
from keyring_idx.resolver.config import Index, Layer, Settings
from keyring_idx.resolver.credentials import Netrc, NetrcEntry
from store.model import Entry

PRIVATE = Index(url="https://h.example/api/pypi/simple", name="private")


def entry(service: str, username: str | None, scheme: str = "basic") -> Entry:
    return Entry(service, username, scheme, "enc:v1:x")  # type: ignore[arg-type]


def test_provider_from_env_then_layers_top_level_before_pip() -> None:
    layers = [
        Layer("/p/uv.toml", {"pip": {"keyring-provider": "subprocess"}}),
        Layer("/home/uv.toml", {"keyring-provider": "disabled"}),
    ]
    assert provider_facts({"UV_KEYRING_PROVIDER": "subprocess"}, layers, [PRIVATE]).origin == (
        "UV_KEYRING_PROVIDER"
    )
    pip = provider_facts({}, layers, [PRIVATE])
    assert (pip.value, pip.pip_only, pip.origin) == ("subprocess", True, "[pip] in /p/uv.toml")
    top = provider_facts({}, [Layer("/p/pyproject.toml", {"keyring-provider": "subprocess"})], [])
    assert (top.value, top.pip_only, top.private_indexes) == ("subprocess", False, 0)
    none = provider_facts({}, [], [PRIVATE, Index(url="https://pypi.org/simple/")])
    assert none.value is None and none.private_indexes == 1


def test_configured_indexes_adds_explicit_ones_after_the_search_order() -> None:
    explicit = Index(url="https://e.example/simple", name="e", explicit=True)
    settings = Settings(indexes=(explicit, PRIVATE, Index(url="https://x/simple", name="private")))
    order = configured_indexes(settings)
    assert [i.name for i in order] == ["private", None, "e"]
    assert order[1].url == "https://pypi.org/simple"


def test_store_coverage_per_username_longest_prefix_and_ambiguity() -> None:
    entries = [
        entry("https://h.example/api/pypi", "aws"),
        entry("https://h.example/", "aws"),
        entry("https://h.example/api", "bob"),
        entry("https://other.example/", "aws"),
        entry("https://h.example/api/pypi", None, "bearer"),
    ]
    found, ambiguous, error = store_coverage(PRIVATE.display_url, entries)
    assert error is None
    # Through keyring the token is reachable only by a lookup without username: ambiguous.
    assert set(found) == {
        StoredCredential("https://h.example/api/pypi", "aws", "basic"),
        StoredCredential("https://h.example/api", "bob", "basic"),
    }
    assert ambiguous  # aws and the token tie on the longest path
    token, ambiguous, _ = store_coverage(PRIVATE.display_url, entries[-1:])
    assert token == (StoredCredential("https://h.example/api/pypi", None, "bearer"),)
    assert not ambiguous
    alone, ambiguous, _ = store_coverage(PRIVATE.display_url, entries[:3])
    assert not ambiguous and len(alone) == 2
    nothing, _, _ = store_coverage("https://elsewhere.example/simple", entries)
    assert nothing == ()
    # uv's second question is the bare host: `keyring set h.example carol` answers it.
    host = Entry("h.example", "carol", "basic", "enc:v1:x", plain=True)
    by_host, _, _ = store_coverage("https://h.example/other/simple", [host])
    assert by_host == (StoredCredential("h.example", "carol", "basic"),)


def test_index_facts_reads_env_url_and_netrc_without_keeping_secrets() -> None:
    env = {"UV_INDEX_PRIVATE_USERNAME": "aws", "UV_INDEX_PRIVATE_PASSWORD": "hunter2"}
    netrc = Netrc({"h.example": NetrcEntry("n", "netrc-secret")})
    f = index_facts(PRIVATE, env, [entry("https://h.example/api/pypi", "aws")], netrc)
    assert (f.env_username, f.env_password, f.netrc_login) == ("aws", True, "n")
    assert "hunter2" not in repr(f) and "netrc-secret" not in repr(f)
    in_url = Index(url="https://u%40x:pw@h.example/simple", name="my-idx")
    g = index_facts(in_url, {}, [])
    assert (g.url_username, g.url_password, g.env_username) == ("u@x", True, None)
    assert "pw" not in g.label


def test_interpreter_from_shebangs() -> None:
    def which(name: str) -> str | None:
        return {"python3": "/usr/bin/python3"}.get(name)

    assert interpreter("#!/v/bin/python\nimport sys\n", which) == ["/v/bin/python"]
    assert interpreter("#!/usr/bin/env python3\n", which) == ["/usr/bin/python3"]
    assert interpreter("#!/usr/bin/env -S python3 -E\n", which) == ["/usr/bin/python3", "-E"]
    assert interpreter("#!/usr/bin/env nope\n", which) is None
    trampoline = "#!/bin/sh\n'''exec' \"/my venv/bin/python\" \"$0\" \"$@\"\n' '''\n"
    assert interpreter(trampoline, which) == ["/my venv/bin/python"]
    assert interpreter("\x7fELF\x02\x01", which) is None
    assert interpreter("", which) is None
