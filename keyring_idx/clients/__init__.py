"""How other clients (keyring users, poetry, pdm, hatch, twine) are connected to the store."""
