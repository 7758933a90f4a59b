"""The keyring-idx credential store and its agent.

This package never imports :mod:`keyring_idx`; the dependency points the other way.
"""
