"""The ASGI app, its settings, middleware and the ``neverlog`` command."""
