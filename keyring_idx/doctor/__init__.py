"""``idx-auth doctor``: check every link from uv to the store and say what to fix.

Pure checks (:mod:`.local_checks`, :mod:`.index_checks`) over facts (:mod:`.model`) that a thin
shell gathers (:mod:`.gather`, :mod:`.keyring_cmd`, :mod:`.network`); :func:`.run.diagnose`
puts them together.
"""
