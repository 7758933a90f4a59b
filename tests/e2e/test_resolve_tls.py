"""``idx-auth resolve`` and uv on a TLS index whose CA is trusted only through SSL_CERT_FILE."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from tests.e2e.differential import isolated_env, ours, uv_compile
from tests.e2e.index_server import IndexSpec, Release, serve

pytestmark = pytest.mark.timeout(120)


def test_tls_index_trusted_via_ssl_cert_file_and_insecure_host(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    project = tmp_path / "project"
    project.mkdir()
    spec = IndexSpec("a", {"foo": [Release("1.0"), Release("1.1")]}, auth=("u", "s3cret"))
    with serve([spec], tls=ctx) as s:
        index = ["--default-index", f"a={s.url('a')}"]
        creds = {"UV_INDEX_A_USERNAME": "u", "UV_INDEX_A_PASSWORD": "s3cret"}

        untrusted = ours(project, isolated_env(tmp_path, **creds), ["foo"], *index)
        assert untrusted.code == 1
        assert "TLS" in untrusted.stderr or "certificate" in untrusted.stderr.lower()

        env = isolated_env(tmp_path, SSL_CERT_FILE=str(ca_file), **creds)
        mine = ours(project, env, ["foo"], *index)
        uv = uv_compile(project, env, ["foo"], *index)
        assert uv.code == 0, uv.stderr
        assert mine.code == 0, mine.stderr
        assert mine.picks == uv.picks == {"foo": ("1.1", s.url("a"))}
        assert "s3cret" not in mine.stdout + mine.stderr

        insecure = ours(
            project,
            isolated_env(tmp_path, **creds),
            ["foo"],
            *index,
            "--allow-insecure-host",
            "127.0.0.1",
        )
        assert insecure.code == 0, insecure.stderr
        assert insecure.picks["foo"][0] == "1.1"
