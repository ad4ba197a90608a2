"""Where the site may send its client secret and members' tokens: Microsoft's clouds only.

``authority_host`` receives the client secret (token requests) and ``graph_url`` members' access
tokens, so both are limited to the hosts of Microsoft's public and national clouds, plus the
hosts named in MICROSOFT_ALLOWED_HOSTS (the local emulator). Checked when the settings are saved
and again before every use, so a row written some other way cannot send them elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from membership.conf import conf

AUTHORITY_HOSTS = frozenset({
    "login.microsoftonline.com",  # global (also login.microsoft.com, login.windows.net)
    "login.microsoft.com",
    "login.windows.net",
    "login.microsoftonline.us",  # US Government (GCC High, DoD)
    "login.chinacloudapi.cn",  # China (21Vianet)
    "login.partner.microsoftonline.cn",
})
GRAPH_HOSTS = frozenset({
    "graph.microsoft.com",  # global
    "graph.microsoft.us",  # US Government L4 (GCC High)
    "dod-graph.microsoft.us",  # US Government L5 (DoD)
    "microsoftgraph.chinacloudapi.cn",  # China (21Vianet)
})


class EndpointNotAllowed(ValueError):
    pass


def extra_hosts() -> frozenset[str]:
    return frozenset(conf.MICROSOFT_ALLOWED_HOSTS)


def check(url: str, microsoft_hosts: frozenset[str], what: str) -> None:
    """Raise EndpointNotAllowed, saying why, unless ``url`` is https://<allowed host>[:port][/]."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or parts.username or parts.password or parts.query or parts.fragment:
        raise EndpointNotAllowed(f"The {what} must be a plain https://host address.")
    if parts.path not in ("", "/"):
        raise EndpointNotAllowed(f"The {what} is a host only, without a path.")
    if host in microsoft_hosts and parts.port in (None, 443):
        return
    if host in extra_hosts():
        return
    raise EndpointNotAllowed(
        f"{host or url!r} is not a Microsoft {what}: the site sends it the client secret or members' tokens. "
        f"Use one of {', '.join(sorted(microsoft_hosts))}, or add the host to MICROSOFT_ALLOWED_HOSTS (for the "
        "local emulator)."
    )


def check_authority(url: str) -> None:
    check(url, AUTHORITY_HOSTS, "authority host")


def check_graph(url: str) -> None:
    check(url, GRAPH_HOSTS, "Graph URL")
