"""``make demo``: uv installs a private package from a local authenticated index through keyring."""
