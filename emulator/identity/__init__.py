"""The Microsoft identity platform (v2.0 endpoints) half of the emulator.

Importing the package registers its routes: discovery and keys, authorize with its sign-in and
consent pages, admin consent, logout and the token endpoint.
"""

from emulator.identity import authorize, discovery, token, userinfo

__all__ = ["authorize", "discovery", "token", "userinfo"]
