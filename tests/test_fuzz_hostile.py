"""Hostile bytes at the agent's socket and in keyring service names: no traceback, no hang,
no wrong answer (hypothesis)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.agent import protocol as p
from store.agent.core import AgentCore
from store.agent.server import Server
from store.agent.wire import HEADER, MAGIC, VERSION
from tests.store.agent.answers import get_pair
from tests.store.agent.conftest import serve_in_thread
from tests.store.agent.fake_agent import ENTRIES
from tests.store.agent.fakes import MemoryStore

SVC, USER, SECRET = "https://pypi.example.com/simple/", "alice", "s3cret-alice"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
ops = st.sampled_from(
    ["get", "list", "status", "login", "logout", "refresh", "lock", "unlock", "x"]
)
fields = st.sampled_from(
    ["service", "username", "scheme", "secret", "offset", "store", "passphrase"]
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:  # a well-framed JSON object with random fields
        body = {"op": draw(ops), **draw(st.dictionaries(fields, json_values, max_size=5))}
        raw = json.dumps(body).encode()
        return HEADER.pack(MAGIC, VERSION, len(raw)) + raw
    if kind == 1:  # a frame whose header lies about the length or version
        raw = draw(st.binary(max_size=64))
        return (
            struct.pack(">4sBI", MAGIC, draw(st.integers(0, 3)), draw(st.integers(0, 2**32 - 1)))
            + raw
        )
    if kind == 2:  # valid header, body that is not JSON or not an object
        raw = draw(st.binary(max_size=64) | st.sampled_from([b"[]", b"1", b'"x"', b"{"]))
        return HEADER.pack(MAGIC, VERSION, len(raw)) + raw
    return draw(st.binary(max_size=80))  # anything


def test_the_request_decoder_answers_every_body_with_a_request_or_a_protocol_error() -> None:
    @settings(max_examples=400, deadline=None)
    @given(bodies())
    def check(data: bytes) -> None:
        try:
            size = p.frame_size(data)
            if size is None or len(data) < size:
                return
            request, store = p.decode_envelope(data[:size])
        except p.ProtocolError:
            return
        assert request.op in {
            "get",
            "list",
            "status",
            "login",
            "logout",
            "refresh",
            "lock",
            "unlock",
        }
        assert store is None or isinstance(store, str)

    check()


@pytest.fixture(scope="module")
def fuzz_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from store.agent.runtime import bind_socket

    tmp = tmp_path_factory.mktemp("fuzz")
    core = AgentCore(MemoryStore(ENTRIES))
    core.start(0.0)
    path = tmp / "agent-run" / "agent.sock"
    server = Server(core, [bind_socket(path)], timeout=0.3)
    thread = serve_in_thread(server)
    try:
        yield str(path)
    finally:
        server.stop()
        thread.join(10)


def _send(path: str, data: bytes) -> bytes:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the agent may drop junk before reading all of it
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


def test_hostile_frames_get_a_reply_or_a_close_and_the_agent_keeps_answering(
    fuzz_agent: str, caplog: pytest.LogCaptureFixture
) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies())
    def check(data: bytes) -> None:
        reply = _send(fuzz_agent, data)  # a hang would raise socket.timeout here
        if reply:
            decoded = p.decode_reply(reply)  # whatever it is, it is a well-formed reply
            assert SECRET not in decoded.message
            if decoded.ok and "secret" in decoded.data:
                # Only a well-formed get may return a secret, and only the right one.
                body = json.loads(data[p.HEADER_SIZE :])
                assert body.get("op") == "get"
        # A well-formed `lock` from our own uid is obeyed; undo it before checking the answer.
        from store.agent import client

        client.request(p.Unlock(), path=fuzz_agent, timeout=5)
        assert get_pair(SVC, USER, path=fuzz_agent) == (USER, SECRET)

    check()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


service_names = st.text(max_size=60) | st.builds(
    lambda host, path: f"https://{host}/{path}",
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.text(max_size=20),
)


def test_keyring_service_names_never_raise_and_never_answer_wrong(dirs: object) -> None:
    from keyring import errors

    from keyring_idx.backend import IdxKeyring
    from store.vault import Vault

    ring = IdxKeyring()  # type: ignore[no-untyped-call]
    ring.scope = "all"
    ring.set_password("https://known.example/", "alice", "pw-known")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(service_names, st.none() | st.text(max_size=20), st.text(min_size=1, max_size=20))
    def check(service: str, username: str | None, password: str) -> None:
        got = ring.get_password(service, username or "")  # never raises
        assert got is None or isinstance(got, str)
        ring.get_credential(service, username)
        try:
            ring.set_password(service, username or "u", password)
        except errors.PasswordSetError:
            pass  # refused with a message: fine, as long as the store stays readable
        else:
            assert ring.get_password(service, username or "u") == password
            ring.delete_password(service, username or "u")
        Vault().read()  # the store is still readable
        assert ring.get_password("https://known.example/", "alice") == "pw-known"

    check()
