"""keyring-idx: the user-facing side (idx-auth CLI, keyring backend, resolver)."""
