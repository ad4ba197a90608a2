"""``execute()``: validate, authorize, get a token, run the function, log the call.

This is the one entry point behind every surface (Python, HTTP API, CLI, Celery tasks).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from jsonschema import Draft202012Validator

from graphfns import call_log
from graphfns.app_tokens import AppTokenCache
from graphfns.client import GraphClient
from graphfns.errors import FunctionError, error_for
from graphfns.metrics import FUNCTION_CALLS, GRAPH_REQUEST_SECONDS
from graphfns.models import FunctionCall
from graphfns.registry import LONE_SURROGATE, Call, Function, Progress, function_named, has_lone_surrogate, load
from membership import tokens
from membership.conf import conf as membership_conf
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.scopes import scope_key

log = logging.getLogger(__name__)

MAX_NESTING = 32  # levels of objects and arrays in params; Graph's own bodies need a handful
def check_json_values(value: Any, field: str = "") -> None:
    """Refuse what JSON cannot carry to Graph: NaN and infinities, lone surrogates, nesting beyond MAX_NESTING.

    Walks without recursion, so a value nested past Python's recursion limit is refused, not a crash.
    ``field`` names ``value`` in the error ("" for params themselves).
    """
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, where, depth = stack.pop()
        name = where or "params"
        if isinstance(item, float) and not math.isfinite(item):
            raise FunctionError("ValidationError", f"{name}: NaN and Infinity are not JSON numbers.", field=name)
        if isinstance(item, str) and has_lone_surrogate(item):
            raise FunctionError("ValidationError", f"{name}: {LONE_SURROGATE}", field=name)
        if isinstance(item, dict | list | tuple):
            if depth >= MAX_NESTING:
                raise FunctionError("ValidationError", f"{name}: nested deeper than {MAX_NESTING} levels of objects "
                                    "and arrays.", field=name, max_depth=MAX_NESTING)
            for key, child in (item.items() if isinstance(item, dict) else enumerate(item)):
                if isinstance(key, str) and has_lone_surrogate(key):
                    raise FunctionError("ValidationError", f"{name}: a key: {LONE_SURROGATE}", field=name)
                stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))


@lru_cache(maxsize=256)
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load()[name].params)


def validate_params(fn: Function, params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise FunctionError("ValidationError", "params must be a JSON object.", field="params")
    check_json_values(params)
    errors = sorted(_validator(fn.name).iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        problems = []
        for e in errors[:10]:
            where = ".".join(str(p) for p in e.absolute_path)
            if e.validator == "required":
                where = e.message.split("'")[1]
            elif e.validator == "additionalProperties":
                where = where or "params"
            problems.append({"field": where or "params", "message": e.message})
        first = problems[0]
        raise FunctionError("ValidationError", f"{first['field']}: {first['message']}", errors=problems)
    return params


def reconnect_url(scopes: list[str], claims: str | None = None) -> str:
    """Where the member signs in again for ``scopes`` (with a claims challenge's ``claims``)."""
    query = {"scopes": " ".join(scopes), "next": "/account/"}
    if claims:
        query["claims"] = claims
    return reverse("membership:consent") + "?" + urlencode(query)


def _member_account(user: AbstractBaseUser) -> MicrosoftAccount:
    if not user.is_active:
        raise FunctionError("MemberInactive")
    account = MicrosoftAccount.objects.of_member(user)
    if account is None:
        raise FunctionError("NotConnected")
    return account


def _delegated_token(fn: Function, account: MicrosoftAccount) -> str:
    granted = {scope_key(s) for s in account.granted_scopes.split()}
    if not any(scope_key(s) in granted for s in fn.delegated):
        wanted = [fn.delegated[0]]
        raise FunctionError("ScopeInvalid", f"{fn.name} needs one of {', '.join(fn.delegated)}; the member has not "
                            "granted it. Send them to the reconnect URL.", missing_scopes=list(fn.delegated),
                            reconnect_url=reconnect_url(wanted))
    try:
        return tokens.access_token(account)
    except tokens.NotConnected:
        raise FunctionError("NotConnected") from None
    except tokens.RefreshFailed as exc:
        reconnect = membership_conf.account_url() if exc.permanent else None
        raise error_for(exc.reason, aad_code=exc.aad_code, reconnect_url=reconnect, host=exc.host) from None


class ClaimsChallengeAnswer:
    """Answers Graph's claims challenges on a member's calls: the first by renewing the sign-in with
    the claims; when that fails, or Graph challenges again, the member must sign in again."""

    def __init__(self, account: MicrosoftAccount) -> None:
        self.account = account
        self.renewed = False

    def __call__(self, claims: str) -> str:
        reconnect = reconnect_url(self.account.granted_scopes.split(), claims=claims)
        if self.renewed:
            raise FunctionError("SignInRequired", reconnect_url=reconnect)
        self.renewed = True
        try:
            return tokens.refresh_account(self.account.pk, claims_challenge=claims).access_token
        except tokens.NotConnected:
            raise FunctionError("NotConnected") from None
        except tokens.RefreshFailed as exc:
            if not exc.permanent:
                raise error_for(exc.reason, aad_code=exc.aad_code, host=exc.host) from None
            raise FunctionError("SignInRequired", aad_code=exc.aad_code, reconnect_url=reconnect) from None


def resolve_user(auth_user: AbstractBaseUser | int | str | None) -> AbstractBaseUser | None:
    if auth_user is None or isinstance(auth_user, AbstractBaseUser):
        return auth_user
    User = get_user_model()
    try:
        return User.objects.get(pk=int(auth_user))
    except (User.DoesNotExist, ValueError):
        raise FunctionError("ValidationError", f"auth_user_id {auth_user} is not a platform user.",
                            field="auth_user_id") from None


def execute(name: str, params: dict[str, Any] | None = None, auth_user: AbstractBaseUser | int | str | None = None,
            *, caller: str = "python", idempotency_key: str | None = None, progress: Progress | None = None) -> Any:
    """Run Graph function ``name`` with ``params``; as ``auth_user`` (delegated) or as the application.

    Returns the function's result or raises ``FunctionError`` with a catalog code.
    """
    started = time.perf_counter()
    fn = function_named(name)
    user = None
    client: GraphClient | None = None
    mode = "delegated" if auth_user is not None else "application"
    error_code = ""
    try:
        user = resolve_user(auth_user)
        params = validate_params(fn, params if params is not None else {})
        ms = MicrosoftSettings.current()
        if not ms.enabled:
            raise FunctionError("MicrosoftAuthDisabled")
        account = None
        if user is not None:
            if not fn.delegated:
                raise FunctionError("PermissionDenied", f"{fn.name} runs as the application only: leave out "
                                    "auth_user_id.")
            account = _member_account(user)
            token = _delegated_token(fn, account)
        else:
            if not fn.application:
                raise FunctionError("ValidationError", f"{fn.name} acts for a member: give auth_user_id.",
                                    field="auth_user_id")
            token = AppTokenCache(ms).token()
        client = GraphClient(ms.graph_url, token,
                             on_claims_challenge=ClaimsChallengeAnswer(account) if account is not None else None)
        call = Call(fn, client, mode, user, account, idempotency_key or str(uuid.uuid4()), progress)
        return fn.handler(call, params)
    except FunctionError as exc:
        error_code = exc.code
        raise
    except Exception:
        error_code = "InternalError"
        raise
    finally:
        duration = time.perf_counter() - started
        call_log.record(
            function=name, caller=caller[:150], acting_user=user if mode == "delegated" else None, mode=mode,
            status=FunctionCall.Status.ERROR if error_code else FunctionCall.Status.OK, error_code=error_code,
            duration_ms=int(duration * 1000),
            graph_requests=client.stats.requests if client else 0,
            request_id=client.stats.last_request_id if client else "",
        )
        FUNCTION_CALLS.labels(name, error_code or "ok").inc()
        if client is not None:
            for seconds in client.stats.seconds:
                GRAPH_REQUEST_SECONDS.labels(name).observe(seconds)
        log.info("Graph function %s %s in %.1f ms", name, error_code or "ok", duration * 1000, extra={
            "function": name, "caller": log_caller(caller), "mode": mode, "code": error_code or "ok",
            "duration_ms": round(duration * 1000, 2), "graph_requests": client.stats.requests if client else 0,
            "graph_request_id": client.stats.last_request_id if client else "",
            "client_request_id": client.stats.last_client_request_id if client else "",
        })


def log_caller(caller: str) -> str:
    """The caller as log lines name it: an API key's name, cli, task, python; a member only as "user"
    (their username is personal data; the call log in the database keeps it)."""
    return "user" if caller.startswith("user:") else caller
