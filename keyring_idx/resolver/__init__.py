"""A resolver with uv's index semantics: settings, Simple API pages, credentials, version choice.

Layers, from pure to I/O: ``config`` (uv settings to values), ``simple`` (page parsing),
``select`` (version and file choice), ``policy`` (uv's index order and status rules), then
``credentials`` and ``client`` (HTTP), ``resolve`` (scheduling) and ``report`` (output).
"""
