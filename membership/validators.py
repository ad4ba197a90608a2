"""Validators for the Microsoft settings: tenant ids, tenants, scopes and URLs."""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from membership.lib.endpoints import EndpointNotAllowed, check_authority, check_graph
from membership.scopes import ScopeError, parse_scopes

TENANT_KEYWORDS = ("common", "organizations", "consumers")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)


def is_guid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


def validate_guid(value: str) -> None:
    if value and not is_guid(value):
        raise ValidationError(
            "“%(value)s” is not a GUID. Copy the ID from the Azure portal; it looks like "
            "72f988bf-86f1-41af-91ab-2d7cd011db47.",
            code="invalid_guid",
            params={"value": value},
        )


def validate_tenant(value: str) -> None:
    if value.lower() in TENANT_KEYWORDS or is_guid(value) or _DOMAIN.match(value):
        return
    raise ValidationError(
        "“%(value)s” is not a tenant. Use common, organizations, consumers, your Directory (tenant) "
        "ID (a GUID) or a verified domain such as contoso.com.",
        code="invalid_tenant",
        params={"value": value},
    )


def validate_scopes(value: str) -> None:
    try:
        parse_scopes(value)
    except ScopeError as exc:
        raise ValidationError(str(exc), code="invalid_scopes") from None


def split_tenant_ids(value: str) -> list[str]:
    """Tenant ids typed one per line (or comma-separated), lower-cased and de-duplicated."""
    return list(dict.fromkeys(v.lower() for v in re.split(r"[\s,;]+", value or "") if v))


def validate_guid_list(value: str) -> None:
    bad = [v for v in split_tenant_ids(value) if not is_guid(v)]
    if bad:
        raise ValidationError(
            "Not a tenant ID (GUID): %(bad)s. List Directory (tenant) IDs, one per line.",
            code="invalid_guid_list",
            params={"bad": ", ".join(bad)},
        )


_http_url = URLValidator(
    schemes=["http", "https"], message="Enter an absolute http(s) URL, e.g. https://example.org/welcome/."
)


def validate_http_url(value: str) -> None:
    if value:
        _http_url(value)


_https_url = URLValidator(
    schemes=["https"], message="Enter an absolute https URL (Microsoft endpoints are HTTPS only)."
)


def validate_https_url(value: str) -> None:
    if value:
        _https_url(value)


def validate_authority_host(value: str) -> None:
    try:
        check_authority(value)
    except EndpointNotAllowed as exc:
        raise ValidationError(str(exc), code="endpoint_not_allowed") from None


def validate_graph_url(value: str) -> None:
    try:
        check_graph(value)
    except EndpointNotAllowed as exc:
        raise ValidationError(str(exc), code="endpoint_not_allowed") from None
