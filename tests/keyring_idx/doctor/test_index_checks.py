"""Verdicts per index: usernames uv will know, live probes, dependency confusion; the report."""

from __future__ import annotations

import json

from keyring_idx.doctor.index_checks import (
    check_confusion,
    check_probe,
    check_strategy,
    check_username,
)
from keyring_idx.doctor.model import Check, Collision, IndexFacts, ProbeFacts, StoredCredential
from keyring_idx.doctor.report import exit_code, lines, to_json
from keyring_idx.resolver.config import Index

URL = "https://h.example/api/pypi/simple"
NAMED = Index(url=URL, name="private")
UNNAMED = Index(url=URL)
ALWAYS = Index(url=URL, name="private", authenticate="always")
AWS = StoredCredential("https://h.example/api/pypi", "aws", "basic")
BOB = StoredCredential("https://h.example/api/pypi", "bob", "basic")
TOKEN = StoredCredential("https://h.example/api/pypi", None, "bearer")


def test_no_username_known_fails_with_the_exact_fix() -> None:
    named = check_username(IndexFacts(NAMED, store=(AWS,)))
    assert named.name == "username[private]" and named.verdict == "fail"
    assert named.fix.startswith("export UV_INDEX_PRIVATE_USERNAME=aws")
    assert 'authenticate = "always"' in named.fix
    unnamed = check_username(IndexFacts(UNNAMED, store=(AWS,)))
    assert "https://aws@h.example/api/pypi/simple" in unnamed.fix
    assert unnamed.name == f"username[{URL}]"


def test_username_known_from_env_or_url() -> None:
    ok = check_username(IndexFacts(NAMED, env_username="aws", store=(AWS,)))
    assert ok.verdict == "ok" and "UV_INDEX_PRIVATE_USERNAME" in ok.detail
    wrong = check_username(IndexFacts(NAMED, env_username="alice", store=(AWS, BOB)))
    assert wrong.verdict == "fail" and "aws@" in wrong.detail
    assert wrong.fix.startswith("export UV_INDEX_PRIVATE_USERNAME=aws")
    assert f"idx-auth login {URL} -u alice" in wrong.fix
    url_user = check_username(IndexFacts(NAMED, url_username="alice", store=(AWS,)))
    assert url_user.verdict == "fail" and "use aws@ in the index URL" in url_user.fix
    nothing = check_username(IndexFacts(NAMED, env_username="alice"))
    assert nothing.verdict == "warn" and nothing.fix == f"idx-auth login {URL} -u alice"
    bearer = check_username(IndexFacts(NAMED, env_username="alice", store=(TOKEN,)))
    assert bearer.verdict == "fail" and "bearer" in bearer.detail


def test_complete_credentials_never_and_netrc() -> None:
    env = check_username(IndexFacts(NAMED, env_username="u", env_password=True, store=(AWS,)))
    assert env.verdict == "ok" and "does not ask keyring" in env.detail
    in_url = check_username(IndexFacts(NAMED, url_username="u", url_password=True))
    assert in_url.verdict == "warn" and "plain text" in in_url.detail
    never = Index(url=URL, name="private", authenticate="never")
    assert check_username(IndexFacts(never)).verdict == "ok"
    assert check_username(IndexFacts(never, store=(AWS,))).verdict == "warn"
    shadow = check_username(IndexFacts(NAMED, netrc_login="n", store=(AWS,)))
    assert shadow.verdict == "warn" and "netrc" in shadow.detail
    assert check_username(IndexFacts(NAMED, netrc_login="n")).verdict == "ok"


def test_authenticate_always() -> None:
    assert check_username(IndexFacts(ALWAYS, store=(AWS,))).verdict == "ok"
    missing = check_username(IndexFacts(ALWAYS))
    assert missing.verdict == "fail" and "Missing credentials" in missing.detail
    several = check_username(IndexFacts(ALWAYS, store=(AWS, BOB), store_ambiguous=True))
    assert several.verdict == "fail" and several.fix == "export UV_INDEX_PRIVATE_USERNAME=aws"
    assert check_username(IndexFacts(ALWAYS, store=(TOKEN,))).verdict == "warn"


def test_public_and_unknown_indexes() -> None:
    pypi = check_username(IndexFacts(Index(url="https://pypi.org/simple/", default=True)))
    assert pypi.verdict == "ok" and "PyPI" in pypi.detail
    assert check_username(IndexFacts(NAMED)).verdict == "ok"
    bearer_only = check_username(IndexFacts(NAMED, store=(TOKEN,)))
    assert bearer_only.verdict == "fail" and "token as the password" in bearer_only.fix
    searched = check_username(IndexFacts(NAMED, store_error="HTTPS is required"))
    assert searched.verdict == "warn"


def probe(status: int | None = None, **more: object) -> ProbeFacts:
    return ProbeFacts("private", URL + "/", "root", status=status, **more)  # type: ignore[arg-type]


def test_probe_statuses() -> None:
    ok = check_probe(probe(200, credential="store"))
    assert ok.verdict == "ok" and "with the store's credential" in ok.detail
    assert "anonymously" in check_probe(probe(200)).detail
    unsent = check_probe(probe(200, credential="store"), uv_sends_store=False)
    assert unsent.verdict == "warn" and "uv itself will not send it" in unsent.detail
    wrong = check_probe(probe(401, credential="store"))
    assert wrong.verdict == "fail" and "wrong or expired" in wrong.detail
    assert wrong.fix.startswith(f"idx-auth login {URL}/ -u USERNAME")
    none = check_probe(probe(401))
    assert none.verdict == "fail" and "have none" in none.detail
    assert "wrong or expired" in check_probe(probe(401, credential="env")).detail
    forbidden = check_probe(probe(403, credential="store"))
    assert forbidden.verdict == "fail" and "permission" in forbidden.detail
    expired = check_probe(probe(404, credential="store", has_credentials=True))
    assert expired.verdict == "warn" and "CodeArtifact" in expired.detail
    assert "idx-auth refresh" in expired.fix
    assert check_probe(probe(404)).verdict == "warn"
    assert check_probe(probe(502)).verdict == "fail"


def test_probe_fixes_name_the_index_not_the_page_asked() -> None:
    page = ProbeFacts(
        "private", URL + "/simple/internal-lib/", "project", status=401, index_url=URL + "/simple"
    )
    assert check_probe(page).fix == f"idx-auth login {URL}/simple -u USERNAME"


def test_probe_with_several_stored_usernames_does_not_suggest_login() -> None:
    both = check_probe(probe(401, has_credentials=True, stored_usernames=("alice", "bob")))
    assert both.verdict == "fail" and "alice, bob" in both.detail
    assert "idx-auth login" not in both.fix and "username check" in both.fix


def test_probe_errors() -> None:
    tls = check_probe(probe(error="tls", message="TLS error: CERTIFICATE_VERIFY_FAILED"))
    assert tls.verdict == "fail" and "SSL_CERT_FILE" in tls.fix and "--system-certs" in tls.fix
    conn = check_probe(probe(error="connect", message="connection refused"))
    assert "HTTPS_PROXY" in conn.fix
    missing = check_probe(probe(error="missing-credentials", message="Missing credentials"))
    assert missing.verdict == "fail" and missing.fix.startswith("idx-auth login")
    assert check_probe(probe(error="setup", message="SSL_CERT_FILE=/x: no")).verdict == "fail"


def test_strategy_and_confusion() -> None:
    assert check_strategy("first-index").verdict == "ok"
    unsafe = check_strategy("unsafe-best-match")
    assert unsafe.verdict == "warn" and "dependency confusion" in unsafe.detail
    clean = check_confusion([], 3, 1, "first-index")
    assert [c.verdict for c in clean] == ["ok"] and "3 unpinned" in clean[0].detail
    assert "no [project] dependencies" in check_confusion([], 0, 0, "first-index")[0].detail
    hit = Collision("internal-lib", "private", "private", ("https://pypi.org/simple",))
    (warn,) = check_confusion([hit], 2, 0, "first-index")
    assert warn.name == "dependency-confusion[internal-lib]" and warn.verdict == "warn"
    assert 'internal-lib = { index = "private" }' in warn.fix and "explicit = true" in warn.fix
    (fail,) = check_confusion([hit], 2, 0, "unsafe-first-match")
    assert fail.verdict == "fail"
    unnamed = Collision("x", URL, None, ("pub",))
    assert "give the index a name" in check_confusion([unnamed], 1, 0, "first-index")[0].fix


def test_report_lines_json_and_exit_code() -> None:
    checks = [
        Check("store", "ok", "fine", ""),
        Check("agent", "warn", "locked", "idx-auth unlock"),
    ]
    out = lines(checks)
    assert out[0] == "ok    store: fine"
    assert out[1] == "warn  agent: locked  -> fix: idx-auth unlock"
    assert out[-1] == "doctor: 0 fail, 1 warn, 1 ok"
    assert exit_code(checks) == 0
    failed = [*checks, Check("probe[x]", "fail", "401", "idx-auth login")]
    assert exit_code(failed) == 1
    doc = json.loads(json.dumps(to_json(failed)))
    assert [set(c) for c in doc["checks"]] == [{"name", "verdict", "detail", "fix"}] * 3


def test_local_directories_and_plain_http() -> None:
    local = Index(url="file:///srv/wheels", name="wheels", format="flat")
    assert check_username(IndexFacts(local)).verdict == "ok"
    http = check_username(IndexFacts(NAMED, store_error="HTTPS is required for non-local hosts"))
    assert http.fix == "use an https:// URL for the index"
