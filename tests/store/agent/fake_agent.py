"""A real agent process over the in-memory store: ``python -m tests.store.agent.fake_agent``.

Used by the process-level tests (signals, activation, notify, other uids) so they exercise the
real daemon code; the backend is the only fake part.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from store.agent.daemon import run_agent
from tests.store.agent.fakes import PASSPHRASE, MemoryStore

ENTRIES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("https://pypi.example.com/simple/", "alice"): ("basic", "s3cret-alice"),
    ("https://other.example.com/", "__token__"): ("bearer", "tok-123"),
}
ENTRIES.update({(f"https://h{i}.example.com/", "u"): ("basic", f"pw{i}") for i in range(50)})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--passphrase", action="store_true")
    parser.add_argument("--idle", type=float, default=600.0)
    parser.add_argument("--max", type=float, default=7200.0)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    backend = MemoryStore(ENTRIES, passphrase=PASSPHRASE if args.passphrase else None)
    return run_agent(backend, args.socket, idle=args.idle, maximum=args.max, timeout=args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
