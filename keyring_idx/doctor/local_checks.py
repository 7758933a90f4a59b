"""Verdicts on this machine's part of the chain: the store, the agent, the ``keyring`` command
uv would run, and uv's ``keyring-provider``. Pure: facts in, :class:`Check` out."""

from __future__ import annotations

from keyring_idx.doctor.model import (
    OURS,
    AgentFacts,
    Check,
    FileFacts,
    KeyringFacts,
    ProviderFacts,
    StoreFacts,
    UvPlaintextFacts,
)

#: Backends that answer at once and never ask anybody anything; every other one may prompt
#: (Secret Service, KWallet, encrypted file keyrings) or wait on a bus.
QUIET_BACKENDS = frozenset(
    {
        OURS,
        "keyring.backends.null.Keyring",
        "keyring.backends.fail.Keyring",
        "keyrings.alt.file.PlaintextKeyring",
    }
)
CHAINER = "keyring.backends.chainer.ChainerBackend"
SETUP_KEYRING = "idx-auth setup keyring"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("x") else "s")


def check_store(store: StoreFacts, agent: AgentFacts) -> Check:
    if store.error is not None:
        return Check(
            "store",
            "fail",
            store.error,
            "restore the store or its key file from a backup, or move the store aside and "
            "log in again (idx-auth login URL)",
        )
    if not store.exists or store.entries == 0:
        return Check(
            "store",
            "warn",
            f"no credentials stored in {store.path}",
            "idx-auth login INDEX-URL -u USERNAME",
        )
    what = f"{_plural(store.entries, 'credential')} in {store.path}"
    if store.locked:
        if agent.running and agent.locked is False:
            return Check(
                "store", "ok", f"{what} (passphrase); unlocked in the agent (pid {agent.pid})"
            )
        if agent.running:
            return Check(
                "store",
                "fail",
                f"{what} (passphrase): locked, and the agent is locked too: every keyring "
                "lookup gets nothing",
                "idx-auth unlock",
            )
        return Check(
            "store",
            "fail",
            f"{what} (passphrase): locked; without the agent, keyring lookups cannot ask "
            "for the passphrase, so they get nothing",
            "start the agent (idx-auth agent, or idx-auth setup systemd) and run "
            "idx-auth unlock; in CI set IDX_AUTH_PASSPHRASE_FILE",
        )
    if store.unreadable_secrets:
        names = ", ".join(store.unreadable_secrets)
        return Check(
            "store",
            "fail",
            f"{what}: {_plural(len(store.unreadable_secrets), 'secret')} fail to decrypt "
            f"(tampered or corrupted): {names}",
            "log in to each of them again: idx-auth login SERVICE -u USERNAME",
        )
    if store.expired:
        return Check(
            "store",
            "warn",
            f"{what}: {_plural(len(store.expired), 'credential')} expired: "
            + ", ".join(store.expired),
            "idx-auth refresh (for entries with a token provider), else idx-auth login them again",
        )
    return Check("store", "ok", f"{what} (key source: {store.key_source}); all decrypt")


def check_files(facts: FileFacts) -> Check:
    """The rule the store applies to its own directories and files, checked ahead of time."""
    if not facts.problems:
        return Check(
            "files",
            "ok",
            f"{facts.checked} directories and files: yours, closed to other users, no symlinks",
        )
    first, *rest = facts.problems
    more = f" (and {len(rest)} more: " + "; ".join(rest) + ")" if rest else ""
    return Check(
        "files",
        "fail",
        first + more,
        "fix each as the message says; idx-auth refuses to use them until then",
    )


def check_uv_plaintext(uv: UvPlaintextFacts) -> Check:
    name = "uv-plaintext"
    if uv.error is not None:
        return Check(
            name,
            "warn",
            f"uv's plaintext store {uv.path} cannot be read ({uv.error}); uv ignores it",
            f"fix or remove {uv.path}",
        )
    if not uv.services:
        return Check(name, "ok", f"no credentials in uv's plaintext store ({uv.path})")
    if uv.differing:
        names = ", ".join(uv.differing)
        return Check(
            name,
            "fail",
            f"uv's plaintext store {uv.path} holds a different secret than the idx-auth store "
            f"for {names}: uv sends that one and never asks keyring",
            f"check which one is right: if ours, remove uv's (uv auth logout SERVICE "
            f"--username USER); if uv's, idx-auth import --replace {uv.path}",
        )
    shown = ", ".join(uv.services[:3]) + (", ..." if len(uv.services) > 3 else "")
    return Check(
        name,
        "warn",
        f"uv's plaintext store {uv.path} holds {_plural(len(uv.services), 'credential')} in "
        f"clear ({shown}); uv uses them before asking keyring, so they shadow the store",
        f"idx-auth import {uv.path}, check with `idx-auth list`, then delete {uv.path}",
    )


def check_agent(agent: AgentFacts, store: StoreFacts) -> Check:
    if agent.problem is not None:
        return Check(
            "agent",
            "warn",
            agent.problem,
            "stop whatever holds the socket, then start the agent (idx-auth agent)",
        )
    if not agent.running:
        if store.key_source == "passphrase":
            return Check(
                "agent",
                "warn",
                f"not running (socket {agent.socket}); a passphrase store needs it to be "
                "read without a prompt",
                "idx-auth agent (or idx-auth setup systemd), then idx-auth unlock",
            )
        return Check(
            "agent",
            "ok",
            f"not running (socket {agent.socket}): lookups read the store file, which is "
            "fine; the agent makes them faster and refreshes tokens ahead of expiry",
        )
    if agent.locked:
        if store.key_source == "passphrase" and not store.locked:
            return Check(
                "agent",
                "warn",
                f"running (pid {agent.pid}) but locked: lookups open the store with "
                "IDX_AUTH_PASSPHRASE_FILE instead (an Argon2id derivation each)",
                "idx-auth unlock",
            )
        return Check(
            "agent",
            "fail",
            f"running (pid {agent.pid}) but locked: every keyring lookup gets nothing",
            "idx-auth unlock",
        )
    if agent.last_error:
        return Check(
            "agent",
            "warn",
            f"running (pid {agent.pid}), last error: {agent.last_error}",
            "idx-auth status shows the details; idx-auth refresh retries a token refresh",
        )
    return Check("agent", "ok", f"running (pid {agent.pid}), unlocked")


def _selected_by(k: KeyringFacts) -> str:
    if k.env_backend:
        return "set by PYTHON_KEYRING_BACKEND"
    if k.config_backend:
        return f"set by default-keyring in {k.config_file}"
    return "the highest priority of the installed backends"


def _not_ours_fix(k: KeyringFacts, ours: str, this_install: str | None) -> str:
    if k.imports_ours is False:
        where = f", or put {this_install}'s directory first on PATH" if this_install else ""
        return f"install keyring-idx into the environment of {k.python}{where}"
    if k.env_backend and k.env_backend != ours:
        return f"unset PYTHON_KEYRING_BACKEND, or export PYTHON_KEYRING_BACKEND={ours}"
    if k.config_backend and k.config_backend != ours:
        return f"{SETUP_KEYRING} --force (replaces default-keyring in {k.config_file})"
    return SETUP_KEYRING


def check_keyring(k: KeyringFacts, *, ours: str = OURS, this_install: str | None = None) -> Check:
    """Which backend the first ``keyring`` on PATH selects; ``ours`` is a value so the rule
    can be tested against any backend."""
    name = "keyring"
    if k.command is None:
        where = f"{this_install} is this install's" if this_install else "none found"
        return Check(
            name,
            "warn",
            "no `keyring` command on PATH: with keyring-provider = subprocess uv has nothing "
            "to run, so it never reaches the store",
            f"put a `keyring` that can import keyring_idx on PATH ({where}), or "
            "`uv tool install keyring-idx --with-executables-from keyring`",
        )
    cmd = f"`{k.command}`"
    if k.timed_out:
        return Check(
            name,
            "fail",
            f"{cmd} did not answer in time: a backend that prompts or waits (Secret Service, "
            "KWallet, an encrypted file keyring); uv has no time-out and would hang the same way",
            f"{SETUP_KEYRING} (keyring then loads only our backend), or export "
            f"PYTHON_KEYRING_BACKEND={ours}",
        )
    if k.error is not None or k.selected is None:
        return Check(
            name,
            "fail",
            f"cannot tell which backend {cmd} selects: {k.error or 'no answer'}",
            f"reinstall keyring in the environment of {k.python or k.command}",
        )
    if k.selected == ours:
        if k.config_backend == OURS:
            return Check(
                name,
                "warn",
                f"{cmd} selects {ours}, named directly in {k.config_file}: keyring fails with "
                "\"No module named 'keyring_idx'\" in every environment without keyring-idx "
                "(poetry, hatch, twine as tools)",
                f"{SETUP_KEYRING} (rewrites it to a selector that leaves those alone)",
            )
        return Check(name, "ok", f"{cmd} selects {ours} ({_selected_by(k)})")
    if k.selected == CHAINER:
        order = [b.name for b in k.chain]
        if ours in order:
            risky = [n for n in order if n not in QUIET_BACKENDS]
            before = order[: order.index(ours)]
            shown = " > ".join(order)
            if risky or before:
                problems = []
                if before:
                    problems.append(
                        f"{', '.join(before)} answer before ours and may hand uv another secret"
                    )
                if risky:
                    problems.append(
                        f"{', '.join(risky)} may prompt or hang when asked for a URL the store "
                        "lacks (uv asks the host too)"
                    )
                return Check(
                    name,
                    "warn",
                    f"{cmd} selects the chainer ({shown}): " + "; ".join(problems),
                    f"{SETUP_KEYRING} (keyring then loads only our backend)",
                )
            return Check(
                name, "ok", f"{cmd} selects the chainer ({shown}); ours first, none prompt"
            )
    return Check(
        name,
        "warn",
        f"{cmd} selects {k.selected} ({_selected_by(k)}), not idx-auth's backend: uv gets "
        "nothing from the store through it",
        _not_ours_fix(k, ours, this_install),
    )


def check_provider(p: ProviderFacts) -> Check:
    name = "keyring-provider"
    setting = 'keyring-provider = "subprocess"'
    if p.value is not None and p.value not in ("disabled", "subprocess"):
        return Check(
            name,
            "fail",
            f"keyring-provider = {p.value!r} ({p.origin}) is not a value uv knows",
            f'use {setting} (or "disabled")',
        )
    if p.value == "subprocess":
        if p.pip_only:
            return Check(
                name,
                "warn",
                f"subprocess, but only {p.origin}: `uv pip` asks keyring, "
                "uv lock / sync / run do not",
                f"move {setting} to the top level of uv.toml or to [tool.uv], "
                "or export UV_KEYRING_PROVIDER=subprocess",
            )
        return Check(name, "ok", f"subprocess (from {p.origin})")
    state = f"disabled (from {p.origin})" if p.value else "not set (uv's default: disabled)"
    if p.private_indexes == 0:
        return Check(name, "ok", f"{state}; only PyPI is configured, which needs no credentials")
    if p.store_indexes:
        return Check(
            name,
            "fail",
            f"{state}: uv never runs keyring, so it cannot get the store's credential for "
            f"{_plural(p.store_indexes, 'index')}",
            f"export UV_KEYRING_PROVIDER=subprocess, or {setting} in uv.toml or [tool.uv]",
        )
    return Check(
        name,
        "warn",
        f"{state}: uv never runs keyring, so it cannot use the idx-auth store",
        f"export UV_KEYRING_PROVIDER=subprocess, or {setting} in uv.toml or [tool.uv]",
    )
