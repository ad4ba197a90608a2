"""A local emulator of the Microsoft identity platform (v2.0) and Microsoft Graph (v1.0).

Stand-alone: it imports nothing of the product. Start it with ``python -m emulator serve`` or,
in-process, ``emulator.server.start()``.
"""
