"""The differential corpus: the real uv 0.13.9 and ``idx-auth resolve`` asked the same question
on the session's loopback indexes (tests/e2e/corpus_indexes.py); both must pick the same
version from the same index for every package, or both must fail.

Project scenarios compare ``uv lock`` (reading uv.lock) with our project model; requirement
scenarios compare ``uv pip compile --emit-index-annotation`` with our pip model. The expected
answers were read off the binary; a scenario whose expectation uv no longer meets fails too.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from demo.wheels import make_wheel
from tests.e2e.differential import IDX_AUTH, UV, isolated_env, side_by_side
from tests.e2e.index_server import IndexServer

pytestmark = pytest.mark.timeout(180)


@dataclass(frozen=True)
class Case:
    id: str
    mode: str  # "lock" or "pip"
    files: Mapping[str, str] = field(default_factory=dict)
    reqs: tuple[str, ...] = ()
    expect: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (ver, key)
    fails: str | None = None  # both fail; our message contains this
    args: tuple[str, ...] = ()  # given to both
    ours: tuple[str, ...] = ()  # given to us only (uv lock resolves every group anyway)
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "."
    cred: Mapping[str, str] = field(default_factory=dict)  # name -> our credential kind
    store: tuple[tuple[str, str, str], ...] = ()  # (key, user, secret) in our store
    uv_store: tuple[tuple[str, str, str], ...] = ()  # in uv's plaintext credentials.toml
    netrc: str | None = None
    wheels: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def project(deps: list[str], body: str = "", extra: str = "", name: str = "demo") -> str:
    listed = ", ".join(f'"{d}"' for d in deps)
    return (
        f'[project]\nname = "{name}"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{listed}]\n{extra}\n{body}"
    )


def idx(key: str, *, name: str | None = None, **fields: object) -> str:
    lines = [f'name = "{name or key}"', f'url = "@{key}@"']
    for k, v in fields.items():
        value = "true" if v is True else (f'"{v}"' if isinstance(v, str) else str(v))
        lines.append(f"{k.replace('_', '-')} = {value}")
    return "[[tool.uv.index]]\n" + "\n".join(lines) + "\n"


PUB = idx("pub", default=True)
NETRC = "machine 127.0.0.1 login u password {pw}\n"

CASES: list[Case] = [
    # -- the two models and index order (class 4) -----------------------------------------
    Case(
        "pip-first-index",
        "pip",
        reqs=("foo", "qux"),
        args=("--index", "@other@", "--default-index", "@pub@"),
        expect={"foo": ("3.0", "other"), "qux": ("2.0", "pub")},
    ),
    Case(
        "lock-first-index",
        "lock",
        files={"pyproject.toml": project(["foo", "qux"], idx("other") + PUB)},
        expect={"foo": ("3.0", "other"), "qux": ("2.0", "pub")},
    ),
    Case(
        "lock-index-before-env-extra",
        "lock",
        files={"pyproject.toml": project(["foo", "qux"], idx("priv"))},
        env={"UV_INDEX_URL": "@pub@", "UV_EXTRA_INDEX_URL": "@other@"},
        expect={"foo": ("0.5", "priv"), "qux": ("2.0", "pub")},
    ),
    Case(
        "pip-env-extra-before-file-index",
        "pip",
        files={"pyproject.toml": project([], idx("priv"))},
        reqs=("foo", "qux"),
        env={"UV_INDEX_URL": "@pub@", "UV_EXTRA_INDEX_URL": "@other@"},
        expect={"foo": ("3.0", "other"), "qux": ("2.0", "pub")},
    ),
    Case(
        "lock-ignores-tool-uv-pip",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"],
                '[tool.uv]\nextra-index-url = ["@other@"]\nindex-url = "@pub@"\n'
                '[tool.uv.pip]\nextra-index-url = ["@priv@"]\n',
            )
        },
        expect={"foo": ("3.0", "other")},
    ),
    Case(
        "pip-reads-tool-uv-pip-first",
        "pip",
        files={
            "pyproject.toml": project(
                [],
                '[tool.uv]\nextra-index-url = ["@other@"]\nindex-url = "@pub@"\n'
                '[tool.uv.pip]\nextra-index-url = ["@priv@"]\n',
            )
        },
        reqs=("foo",),
        expect={"foo": ("0.5", "priv")},
    ),
    Case(
        "lock-file-index-before-cli-extra",
        "lock",
        files={"pyproject.toml": project(["foo", "qux"], idx("priv") + PUB)},
        args=("--extra-index-url", "@other@"),
        expect={"foo": ("0.5", "priv"), "qux": ("2.0", "pub")},
    ),
    Case(
        "pip-cli-extra-before-file-index",
        "pip",
        files={"pyproject.toml": project([], idx("priv") + PUB)},
        reqs=("foo", "qux"),
        args=("--extra-index-url", "@other@"),
        expect={"foo": ("3.0", "other"), "qux": ("2.0", "pub")},
    ),
    Case(
        "lock-default-true-beats-index-url",
        "lock",
        files={"pyproject.toml": project(["qux"], '[tool.uv]\nindex-url = "@third@"\n' + PUB)},
        expect={"qux": ("2.0", "pub")},
    ),
    Case(
        "pip-default-index-beats-index-url",
        "pip",
        reqs=("qux",),
        env={"UV_DEFAULT_INDEX": "@pub@", "UV_INDEX_URL": "@third@"},
        expect={"qux": ("2.0", "pub")},
    ),
    Case(
        "lock-env-index-url-beats-file",
        "lock",
        files={"pyproject.toml": project(["foo"], '[tool.uv]\nindex-url = "@third@"\n')},
        env={"UV_INDEX_URL": "@other@"},
        expect={"foo": ("3.0", "other")},
    ),
    Case(
        "lock-tool-uv-pip-index-url-not-read",
        "lock",
        files={
            "pyproject.toml": project(
                ["qux"], '[tool.uv]\nindex-url = "@third@"\n[tool.uv.pip]\nindex-url = "@pub@"\n'
            )
        },
        fails="qux",
    ),
    Case(
        "pip-tool-uv-pip-index-url-wins",
        "pip",
        files={
            "pyproject.toml": project(
                [], '[tool.uv]\nindex-url = "@third@"\n[tool.uv.pip]\nindex-url = "@pub@"\n'
            )
        },
        reqs=("qux",),
        expect={"qux": ("2.0", "pub")},
    ),
    Case(
        "lock-cli-index-first",
        "lock",
        files={"pyproject.toml": project(["foo", "bar"], idx("priv") + PUB)},
        args=("--index", "@third@"),
        expect={"foo": ("4.0", "third"), "bar": ("4.0", "third")},
    ),
    Case(
        "lock-unsafe-best-match",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "bar"],
                '[tool.uv]\nindex-strategy = "unsafe-best-match"\n'
                + idx("priv")
                + idx("other")
                + PUB,
            )
        },
        expect={"foo": ("3.0", "other"), "bar": ("3.0", "other")},
    ),
    Case(
        "pip-unsafe-first-match",
        "pip",
        reqs=("foo", "bar>=2"),
        args=(
            "--index",
            "@priv@",
            "--default-index",
            "@other@",
            "--index-strategy",
            "unsafe-first-match",
        ),
        expect={"foo": ("0.5", "priv"), "bar": ("3.0", "other")},
    ),
    # -- explicit and default together (class 2) ------------------------------------------
    Case(
        "lock-explicit-default-serves-pins",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"],
                idx("priv", default=True, explicit=True)
                + '[tool.uv.sources]\nfoo = { index = "priv" }\n',
            )
        },
        expect={"foo": ("0.5", "priv")},
    ),
    Case(
        "lock-explicit-default-removes-pypi",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "qux"],
                idx("priv", default=True, explicit=True)
                + '[tool.uv.sources]\nfoo = { index = "priv" }\n',
            )
        },
        fails="qux",
    ),
    Case(
        "lock-explicit-default-with-implicit",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "bar"],
                idx("priv", default=True, explicit=True)
                + idx("other")
                + '[tool.uv.sources]\nfoo = { index = "priv" }\n',
            )
        },
        expect={"foo": ("0.5", "priv"), "bar": ("3.0", "other")},
    ),
    Case(
        "lock-explicit-pin",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "bar"],
                idx("priv", explicit=True) + PUB + '[tool.uv.sources]\nfoo = { index = "priv" }\n',
            )
        },
        expect={"foo": ("0.5", "priv"), "bar": ("1.5", "pub")},
    ),
    # -- which file may define what (class 3) ---------------------------------------------
    Case(
        "lock-uv-toml-wins-settings-pyproject-serves-pins",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "bar"],
                idx("priv", explicit=True)
                + idx("other")
                + '[tool.uv.sources]\nfoo = { index = "priv" }\n',
            ),
            "uv.toml": '[[index]]\nname = "pub"\nurl = "@pub@"\ndefault = true\n',
        },
        expect={"foo": ("0.5", "priv"), "bar": ("1.5", "pub")},
    ),
    Case(
        "lock-pin-to-uv-toml-index-fails",
        "lock",
        files={
            "pyproject.toml": project(["foo"], '[tool.uv.sources]\nfoo = { index = "pub" }\n'),
            "uv.toml": '[[index]]\nname = "pub"\nurl = "@pub@"\ndefault = true\n',
        },
        fails="undeclared index",
    ),
    Case(
        "lock-pin-to-undefined-index-fails",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"], PUB + '[tool.uv.sources]\nfoo = { index = "nowhere" }\n'
            )
        },
        fails="undeclared index",
    ),
    Case(
        "lock-uv-toml-strategy-beats-pyproject",
        "lock",
        files={
            "pyproject.toml": project(["foo"], '[tool.uv]\nindex-strategy = "first-index"\n'),
            "uv.toml": 'index-strategy = "unsafe-best-match"\n'
            '[[index]]\nname = "priv"\nurl = "@priv@"\n'
            '[[index]]\nname = "pub"\nurl = "@pub@"\ndefault = true\n',
        },
        expect={"foo": ("2.0", "pub")},
    ),
    Case(
        "lock-pin-to-cli-index",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "qux"], PUB + '[tool.uv.sources]\nfoo = { index = "cli" }\n'
            )
        },
        args=("--index", "cli=@mem@"),
        expect={"foo": ("0.7", "mem"), "qux": ("2.0", "pub")},
    ),
    # -- workspaces (class 1) ---------------------------------------------------------------
    *[
        Case(
            f"workspace-{cid}",
            "lock",
            files={
                "pyproject.toml": project(
                    ["bar"],
                    '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                    + idx("priv", explicit=True)
                    + PUB
                    + root_sources,
                ),
                "packages/m/pyproject.toml": project(deps, member_body, name="m"),
            },
            cwd="packages/m",
            expect=expect,
        )
        for cid, deps, root_sources, member_body, expect in [
            (
                "root-pin-applies-to-member",
                ["foo", "qux"],
                '[tool.uv.sources]\nfoo = { index = "priv" }\n',
                "",
                {"foo": ("0.5", "priv"), "qux": ("2.0", "pub")},
            ),
            (
                "member-index-serves-member-pin",
                ["m1"],
                "",
                idx("mem", explicit=True) + '[tool.uv.sources]\nm1 = { index = "mem" }\n',
                {"m1": ("0.7", "mem")},
            ),
            (
                "member-pin-beats-root-pin",
                ["foo"],
                '[tool.uv.sources]\nfoo = { index = "priv" }\n',
                idx("mem", explicit=True) + '[tool.uv.sources]\nfoo = { index = "mem" }\n',
                {"foo": ("0.7", "mem")},
            ),
            (
                "root-pin-to-member-index",
                ["ws1"],
                '[tool.uv.sources]\nws1 = { index = "mem" }\n',
                idx("mem", explicit=True),
                {"ws1": ("0.7", "mem")},
            ),
            (
                "member-implicit-index-not-searched",
                ["ws1"],
                "",
                idx("mem"),
                {"ws1": ("1.0", "pub")},
            ),
            (
                "member-settings-ignored",
                ["bar"],
                "",
                '[tool.uv]\nextra-index-url = ["@other@"]\n',
                {"bar": ("1.5", "pub")},
            ),
            (
                "versions-chosen-across-members",
                ["baz"],
                '[dependency-groups]\ndev = ["baz<3"]\n',
                "",
                {"baz": ("2.0", "pub")},
            ),
        ]
    ],
    # -- credentials (class 5) --------------------------------------------------------------
    Case(
        "cred-env-password-only-is-basic",
        "pip",
        reqs=("foo",),
        args=("--default-index", "a=@auth2@"),
        env={"UV_INDEX_A_PASSWORD": "p"},
        expect={"foo": ("1.2", "auth2")},
        cred={"foo": "env"},
    ),
    Case(
        "cred-url-username-only",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@tok|tok3n@"),
        expect={"foo": ("1.3", "tok")},
        cred={"foo": "url"},
    ),
    Case(
        "cred-url-beats-env",
        "pip",
        reqs=("foo",),
        args=("--default-index", "a=@auth|u:p@"),
        env={"UV_INDEX_A_USERNAME": "u", "UV_INDEX_A_PASSWORD": "wrong"},
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "url"},
    ),
    Case(
        "cred-stale-url-beats-env",
        "pip",
        reqs=("foo",),
        args=("--default-index", "a=@auth|u:wrong@"),
        env={"UV_INDEX_A_USERNAME": "u", "UV_INDEX_A_PASSWORD": "p"},
        fails="401",
    ),
    Case(
        "cred-url-user-env-password-not-merged",
        "pip",
        reqs=("foo",),
        args=("--default-index", "a=@auth|u@"),
        env={"UV_INDEX_A_PASSWORD": "p"},
        fails="401",
    ),
    Case(
        "cred-env-user-then-netrc",
        "pip",
        reqs=("foo",),
        args=("--default-index", "a=@auth@"),
        env={"UV_INDEX_A_USERNAME": "u"},
        netrc=NETRC.format(pw="p"),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "netrc"},
    ),
    Case(
        "cred-netrc-before-uv-store",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth@"),
        netrc=NETRC.format(pw="wrong"),
        uv_store=(("auth", "u", "p"),),
        fails="401",
    ),
    Case(
        "cred-netrc-right-uv-store-wrong",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth@"),
        netrc=NETRC.format(pw="p"),
        uv_store=(("auth", "u", "wrong"),),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "netrc"},
    ),
    Case(
        "cred-uv-store",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth@"),
        uv_store=(("auth", "u", "p"),),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "uv-store"},
    ),
    Case(
        "cred-keyring-not-asked-without-provider",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth|u@"),
        store=(("auth", "u", "p"),),
        fails="keyring-provider",
    ),
    Case(
        "cred-keyring-with-provider-and-url-user",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth|u@", "--keyring-provider", "subprocess"),
        store=(("auth", "u", "p"),),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "store"},
    ),
    Case(
        "cred-keyring-not-asked-without-username",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth@", "--keyring-provider", "subprocess"),
        store=(("auth", "u", "p"),),
        fails="username",
    ),
    Case(
        "cred-keyring-env-provider-env-user",
        "pip",
        reqs=("foo",),
        args=("--default-index", "a=@auth@"),
        env={"UV_KEYRING_PROVIDER": "subprocess", "UV_INDEX_A_USERNAME": "u"},
        store=(("auth", "u", "p"),),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "store"},
    ),
    Case(
        "cred-uv-store-shadows-keyring",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth|u@", "--keyring-provider", "subprocess"),
        store=(("auth", "u", "p"),),
        uv_store=(("auth", "u", "wrong"),),
        fails="credentials.toml",
    ),
    Case(
        "cred-stale-url-password-shadows-keyring",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth|u:wrong@", "--keyring-provider", "subprocess"),
        store=(("auth", "u", "p"),),
        fails="401",
    ),
    Case(
        "cred-lock-keyring-from-tool-uv",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"], '[tool.uv]\nkeyring-provider = "subprocess"\n' + idx("auth", default=True)
            )
        },
        env={"UV_INDEX_AUTH_USERNAME": "u"},
        store=(("auth", "u", "p"),),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "store"},
    ),
    Case(
        "cred-lock-tool-uv-pip-provider-not-read",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"],
                '[tool.uv.pip]\nkeyring-provider = "subprocess"\n' + idx("auth", default=True),
            )
        },
        env={"UV_INDEX_AUTH_USERNAME": "u"},
        store=(("auth", "u", "p"),),
        fails="keyring-provider",
    ),
    Case(
        "cred-lock-always-netrc",
        "lock",
        files={"pyproject.toml": project(["foo"], idx("auth", authenticate="always") + PUB)},
        netrc=NETRC.format(pw="p"),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "netrc"},
    ),
    Case(
        "cred-lock-never",
        "lock",
        files={"pyproject.toml": project(["foo"], idx("auth", authenticate="never") + PUB)},
        netrc=NETRC.format(pw="p"),
        fails="401",
    ),
    Case(
        "cred-lock-always-asks-keyring-without-username",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"],
                '[tool.uv]\nkeyring-provider = "subprocess"\n'
                + idx("auth", authenticate="always")
                + PUB,
            )
        },
        store=(("auth", "u", "p"),),
        expect={"foo": ("1.1", "auth")},
        cred={"foo": "store"},
    ),
    Case(
        "cred-netrc-of-another-user-is-not-sent",
        "pip",
        reqs=("foo",),
        args=("--default-index", "@auth|u@"),
        netrc="machine 127.0.0.1 login x password p\n",
        fails="401",
    ),
    # -- status rules (class 6) -------------------------------------------------------------
    *[
        Case(
            f"status-first-index-{code}",
            "pip",
            reqs=(f"c{code}",),
            args=("--index", "@err@", "--default-index", "@pub@"),
            expect={f"c{code}": ("2.0", "pub")} if code == 404 else {},
            fails=None if code == 404 else str(code),
        )
        for code in (401, 403, 404, 407, 410, 500)
    ],
    *[
        Case(
            f"status-unsafe-{code}",
            "pip",
            reqs=(f"c{code}",),
            args=(
                "--index",
                "@err@",
                "--default-index",
                "@pub@",
                "--index-strategy",
                "unsafe-best-match",
            ),
            expect={f"c{code}": ("2.0", "pub")} if code in (401, 403, 407) else {},
            fails=None if code in (401, 403, 407) else str(code),
        )
        for code in (401, 403, 407, 429)
    ],
    Case(
        "status-ignore-error-codes-403",
        "lock",
        files={
            "pyproject.toml": project(
                ["c403"], idx("err", ignore_error_codes="[403]").replace('"[403]"', "[403]") + PUB
            )
        },
        expect={"c403": ("2.0", "pub")},
    ),
    Case(
        "status-ignore-error-codes-keeps-401-stop",
        "lock",
        files={
            "pyproject.toml": project(
                ["c401"], idx("err", ignore_error_codes="[403]").replace('"[403]"', "[403]") + PUB
            )
        },
        fails="401",
    ),
    Case(
        "status-download-pytorch-org-ignores-403",
        "pip",
        reqs=("c403",),
        args=("--index", "http://download.pytorch.org/err/simple", "--default-index", "@pub@"),
        env={"HTTP_PROXY": "@base@", "NO_PROXY": "127.0.0.1"},
        expect={"c403": ("2.0", "pub")},
    ),
    Case(
        "status-other-pytorch-host-stops-on-403",
        "pip",
        reqs=("c403",),
        args=("--index", "http://other.pytorch.org/err/simple", "--default-index", "@pub@"),
        env={"HTTP_PROXY": "@base@", "NO_PROXY": "127.0.0.1"},
        fails="403",
    ),
    # -- versions (class 7) -----------------------------------------------------------------
    Case(
        "versions-prerelease-default-lock",
        "lock",
        files={"pyproject.toml": project(["pre1>=1.5", "pre2>=1.0b1", "pre3", "pre4"], PUB)},
        expect={
            "pre1": ("2.0a1", "pub"),
            "pre2": ("1.0", "pub"),
            "pre3": ("1.0", "pub"),
            "pre4": ("0.2a1", "pub"),
        },
    ),
    Case(
        "versions-prerelease-default-pip",
        "pip",
        reqs=("pre1>=1.5", "pre2>=1.0b1", "pre3", "pre4"),
        args=("--default-index", "@pub@"),
        expect={
            "pre1": ("2.0a1", "pub"),
            "pre2": ("1.0", "pub"),
            "pre3": ("1.0", "pub"),
            "pre4": ("0.2a1", "pub"),
        },
    ),
    Case(
        "versions-prerelease-allow",
        "lock",
        files={
            "pyproject.toml": project(
                ["pre2>=1.0b1", "pre3"], '[tool.uv]\nprerelease = "allow"\n' + PUB
            )
        },
        expect={"pre2": ("2.0a1", "pub"), "pre3": ("1.1b1", "pub")},
    ),
    Case(
        "versions-prerelease-explicit",
        "pip",
        reqs=("pre2==2.0a1", "pre3"),
        args=("--default-index", "@pub@", "--prerelease", "explicit"),
        expect={"pre2": ("2.0a1", "pub"), "pre3": ("1.0", "pub")},
    ),
    Case(
        "versions-prerelease-explicit-no-fallback",
        "pip",
        reqs=("pre1>=1.5",),
        args=("--default-index", "@pub@", "--prerelease", "explicit"),
        fails="pre1",
    ),
    Case(
        "versions-prerelease-disallow",
        "lock",
        files={
            "pyproject.toml": project(["pre2==2.0a1"], '[tool.uv]\nprerelease = "disallow"\n' + PUB)
        },
        fails="pre2",
    ),
    Case(
        "versions-requires-python-upper-bounds-ignored",
        "lock",
        files={"pyproject.toml": project(["rp1", "rp2"], PUB)},
        expect={"rp1": ("2.0", "pub"), "rp2": ("2.0", "pub")},
    ),
    Case(
        "versions-requires-python-lower-bound",
        "pip",
        reqs=("rp1", "rp2", "rp3"),
        args=("--default-index", "@pub@"),
        expect={"rp1": ("2.0", "pub"), "rp2": ("2.0", "pub"), "rp3": ("1.0", "pub")},
    ),
    Case(
        "versions-resolution-lowest",
        "lock",
        files={
            "pyproject.toml": project(
                ["low", "baz>=1.5"], '[tool.uv]\nresolution = "lowest"\n' + PUB
            )
        },
        expect={"low": ("1.0", "pub"), "baz": ("2.0", "pub")},
    ),
    Case(
        "versions-resolution-lowest-direct",
        "pip",
        reqs=("low>1.0",),
        args=("--default-index", "@pub@", "--resolution", "lowest-direct"),
        expect={"low": ("1.5", "pub")},
    ),
    Case(
        "versions-constraints-and-overrides",
        "lock",
        files={
            "pyproject.toml": project(
                ["baz", "ex1>=2"],
                '[tool.uv]\nconstraint-dependencies = ["baz<3", "qux<2"]\n'
                'override-dependencies = ["ex1==1.0"]\n' + PUB,
            )
        },
        expect={"baz": ("2.0", "pub"), "ex1": ("1.0", "pub")},
    ),
    Case(
        "versions-constraints-pip",
        "pip",
        files={
            "pyproject.toml": project(
                [],
                '[tool.uv]\nconstraint-dependencies = ["baz<3"]\n'
                'override-dependencies = ["ex1==1.0"]\n',
            )
        },
        reqs=("baz", "ex1>=2"),
        args=("--default-index", "@pub@"),
        expect={"baz": ("2.0", "pub"), "ex1": ("1.0", "pub")},
    ),
    Case(
        "versions-exclude-newer-lock",
        "lock",
        files={
            "pyproject.toml": project(
                ["dated"], '[tool.uv]\nexclude-newer = "2024-01-01T00:00:00Z"\n' + PUB
            )
        },
        expect={"dated": ("1.0", "pub")},
    ),
    Case(
        "versions-exclude-newer-pip",
        "pip",
        reqs=("dated",),
        args=("--default-index", "@pub@", "--exclude-newer", "2025-01-01"),
        expect={"dated": ("2.0", "pub")},
    ),
    Case(
        "versions-yanked",
        "pip",
        reqs=("yk", "low==1.5"),
        args=("--default-index", "@pub@"),
        expect={"yk": ("1.0", "pub"), "low": ("1.5", "pub")},
    ),
    Case(
        "versions-requirements-merged",
        "lock",
        files={"pyproject.toml": project(["baz>=1.5", "baz<3"], PUB)},
        expect={"baz": ("2.0", "pub")},
    ),
    # -- missing inputs (class 8) -----------------------------------------------------------
    Case(
        "find-links-url-lock",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "bar", "only", "qux"], '[tool.uv]\nfind-links = ["@flat@"]\n' + PUB
            )
        },
        expect={
            "foo": ("3.0", "flat"),
            "bar": ("1.5", "flat"),
            "only": ("1.0", "flat"),
            "qux": ("2.0", "pub"),
        },
    ),
    Case(
        "find-links-url-pip",
        "pip",
        reqs=("foo", "bar", "only"),
        args=("--default-index", "@pub@", "--find-links", "@flat@"),
        expect={"foo": ("3.0", "flat"), "bar": ("1.5", "flat"), "only": ("1.0", "flat")},
    ),
    Case(
        "find-links-dir-lock",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "only"], '[tool.uv]\nfind-links = ["@dir:wh@"]\n' + PUB
            )
        },
        wheels={"wh": (("foo", "1.9"), ("only", "1.0"))},
        expect={"foo": ("2.0", "pub"), "only": ("1.0", "dir:wh")},
    ),
    Case(
        "find-links-dir-pip",
        "pip",
        reqs=("foo", "only"),
        args=("--default-index", "@pub@", "--find-links", "@dir:wh@"),
        wheels={"wh": (("foo", "2.5"), ("only", "1.0"))},
        expect={"foo": ("2.5", "dir:wh"), "only": ("1.0", "dir:wh")},
    ),
    Case(
        "flat-index-local-dir",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo", "bar"],
                '[[tool.uv.index]]\nname = "w"\nurl = "./wheels"\nformat = "flat"\n' + PUB,
            )
        },
        wheels={"wheels": (("foo", "1.9"),)},
        expect={"foo": ("1.9", "dir:wheels"), "bar": ("1.5", "pub")},
    ),
    Case(
        "flat-index-url-is-ordered",
        "lock",
        files={"pyproject.toml": project(["foo", "qux"], idx("flat", format="flat") + PUB)},
        expect={"foo": ("3.0", "flat"), "qux": ("2.0", "pub")},
    ),
    Case(
        "groups-default-dev",
        "lock",
        files={
            "pyproject.toml": project(
                ["qux"], PUB + '[dependency-groups]\ndev = ["dev1"]\nlint = ["lint1", "qux<2"]\n'
            )
        },
        expect={"qux": ("1.0", "pub"), "dev1": ("1.0", "pub")},
    ),
    Case(
        "groups-selected",
        "lock",
        files={
            "pyproject.toml": project(
                ["qux"], PUB + '[dependency-groups]\ndev = ["dev1"]\nlint = ["lint1", "qux<2"]\n'
            )
        },
        ours=("--group", "lint", "--no-default-groups"),
        expect={"qux": ("1.0", "pub"), "lint1": ("1.0", "pub")},
    ),
    Case(
        "groups-default-groups-setting",
        "lock",
        files={
            "pyproject.toml": project(
                [],
                PUB
                + '[tool.uv]\ndefault-groups = ["lint"]\n[dependency-groups]\ndev = ["dev1"]\n'
                + 'lint = ["lint1", {include-group = "dev"}]\n',
            )
        },
        expect={"lint1": ("1.0", "pub"), "dev1": ("1.0", "pub")},
    ),
    Case(
        "extras-selected",
        "lock",
        files={
            "pyproject.toml": project(
                ["foo"], PUB, extra='[project.optional-dependencies]\nx = ["ex1<2"]\n'
            )
        },
        ours=("--extra", "x"),
        expect={"foo": ("2.0", "pub"), "ex1": ("1.0", "pub")},
    ),
]

_TOKEN = re.compile(r"@([a-z0-9-]+)(?::([a-z0-9-]+))?(?:\|([^@]*))?@")


def _expand(text: str, server: IndexServer, root: Path) -> str:
    def one(m: re.Match[str]) -> str:
        key, sub, userinfo = m.group(1), m.group(2), m.group(3)
        if key == "base":
            return server.base
        if key == "dir":
            return str(root / (sub or ""))
        url = server.url(key)
        return url.replace("://", f"://{userinfo}@", 1) if userinfo is not None else url

    return _TOKEN.sub(one, text)


def _where(key: str, server: IndexServer, root: Path) -> str:
    if key.startswith("dir:"):
        return (root / key[4:]).resolve().as_uri()
    return server.url(key).rstrip("/")


def _login(argv: list[str], secret: str, env: dict[str, str]) -> None:
    done = subprocess.run(argv, input=secret + "\n", capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_as_uv(case: Case, corpus_server: IndexServer, tmp_path: Path) -> None:
    server = corpus_server
    root = tmp_path / "project"
    root.mkdir()
    for rel, text in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_expand(text, server, root))
    for rel, wheels in case.wheels.items():
        (root / rel).mkdir(parents=True, exist_ok=True)
        for name, version in wheels:
            (root / rel / f"{name}-{version}-py3-none-any.whl").write_bytes(
                make_wheel(name, version)
            )
    extra = {k: _expand(v, server, root) for k, v in case.env.items()}
    env = isolated_env(tmp_path, NETRC=str(tmp_path / "netrc"), **extra)
    env["PATH"] = f"{IDX_AUTH.parent}:{env['PATH']}"  # uv runs our `keyring` from PATH
    if case.netrc is not None:
        (tmp_path / "netrc").write_text(case.netrc)
        (tmp_path / "netrc").chmod(0o600)
    for key, user, secret in case.store:
        _login(
            [str(IDX_AUTH), "login", server.url(key), "-u", user, "--password", "-"], secret, env
        )
    for key, user, secret in case.uv_store:
        _login(
            [str(UV), "auth", "login", server.url(key), "-u", user, "--password", "-"], secret, env
        )
    args = [_expand(a, server, root) for a in case.args]
    ours = [*args, *case.ours] + (["--pip"] if case.mode == "pip" else [])
    uv, mine = side_by_side(
        case.mode, root / case.cwd, root, env, list(case.reqs) or None, args, ours
    )
    assert mine.doc is not None
    model = "uv lock / uv sync" if case.mode == "lock" else "uv pip compile"
    assert mine.doc.get("model") == model, mine.stderr
    if case.fails is not None:
        assert uv.code != 0, f"uv succeeded: {uv.picks}"
        assert mine.code != 0, mine.stdout
        assert case.fails in mine.stderr, mine.stderr
        return
    expected = {n: (v, _where(k, server, root)) for n, (v, k) in case.expect.items()}
    assert uv.code == 0, uv.stderr
    assert {n: uv.picks.get(n) for n in expected} == expected, uv.stdout or uv.stderr
    assert mine.code == 0, mine.stderr
    assert mine.picks == expected, mine.stdout
    for name, kind in case.cred.items():
        packages = mine.doc["packages"]
        assert isinstance(packages, list)
        assert [p["credential"] for p in packages if p["name"] == name] == [kind]
    for secret in ("p", "wrong"):
        for line in mine.stdout.splitlines():
            assert f":{secret}@" not in line
