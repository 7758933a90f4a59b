from keyring_idx.cli import entry

entry()
