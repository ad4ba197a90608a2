"""The HTTP API: JSON in, JSON out, every failure ``{"error": {"code", "message", "details"?}}``.

The views stay thin: ``authentication`` says who calls and whom they act as, ``execution.execute``
runs the function, ``tasks`` queues it. CSRF is checked by ``authenticate`` for session callers
only (an API key is not ambient authority), hence ``csrf_exempt`` here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from graphfns import tasks
from graphfns.app_tokens import clear_app_token_cache
from graphfns.authentication import SELF, authenticate
from graphfns.errors import FunctionError
from graphfns.execution import MAX_NESTING, check_json_values, execute
from graphfns.openapi import document
from graphfns.registry import function_named, load

log = logging.getLogger(__name__)

View = Callable[..., JsonResponse]
BODY_FIELDS = {"params", "auth_user_id", "idempotency_key"}


def error_response(exc: FunctionError) -> JsonResponse:
    response = JsonResponse({"error": exc.as_dict()}, status=exc.status)
    retry_after = exc.details.get("retry_after")
    if exc.code == "Throttled" and retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def api_view(*methods: str) -> Callable[[View], View]:
    """Allow only ``methods``; turn catalog errors (and any surprise) into the JSON error shape."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method not in methods and not (request.method == "HEAD" and "GET" in methods):
                response = error_response(FunctionError("MethodNotAllowed", f"Use {' or '.join(methods)} on this URL."))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, **kwargs)
            except FunctionError as exc:
                return error_response(exc)
            except Exception:
                log.exception("API view %s failed", view.__name__)
                return error_response(FunctionError("InternalError"))

        return wrapper

    return decorate


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which JSON has not, and nothing downstream can send them on.
    raise FunctionError("ValidationError", f"The request body holds {name}, which is not a JSON number.", value=name)


def read_body(request: HttpRequest) -> dict[str, Any]:
    try:
        raw = request.body
    except RequestDataTooBig:
        raise FunctionError("ValidationError", "The request body is too large.") from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise FunctionError("ValidationError", f"The request body is nested too deeply: at most {MAX_NESTING} "
                            "levels of objects and arrays.", max_depth=MAX_NESTING) from None
    except (UnicodeDecodeError, ValueError):
        raise FunctionError("ValidationError", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise FunctionError("ValidationError", "The request body must be a JSON object: "
                            '{"params": {...}, "auth_user_id": ...}.')
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise FunctionError("ValidationError", f"Unknown field(s) in the body: {', '.join(unknown)}. Function "
                            "parameters go inside \"params\".", fields=unknown)
    for field, value in body.items():
        check_json_values(value, "" if field == "params" else field)
    key = body.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
        raise FunctionError("ValidationError", "idempotency_key must be a string of 1 to 200 characters.",
                            field="idempotency_key")
    return body


@api_view("GET")
def function_list(request: HttpRequest) -> JsonResponse:
    functions = sorted(load().values(), key=lambda f: f.name)
    return JsonResponse({"functions": [f.describe() for f in functions]})


@api_view("GET")
def function_detail(request: HttpRequest, name: str) -> JsonResponse:
    return JsonResponse(function_named(name).describe())


@api_view("GET")
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())


@api_view("POST")
def function_execute(request: HttpRequest, name: str) -> JsonResponse:
    caller = authenticate(request, csrf=True)
    function_named(name)
    body = read_body(request)
    acting = caller.acting_user(name, body.get("auth_user_id", SELF))
    params = body.get("params", {})
    if request.GET.get("async", "").lower() in ("1", "true"):
        auth_user_id = acting if acting is None or isinstance(acting, int) else acting.pk
        if not isinstance(params, dict):
            raise FunctionError("ValidationError", "params must be a JSON object.", field="params")
        task_id = tasks.submit(name, params, auth_user_id, caller.label, body.get("idempotency_key"),
                               owner=caller.owner)
        return JsonResponse({"task_id": task_id}, status=202)
    result = execute(name, params, acting, caller=caller.label, idempotency_key=body.get("idempotency_key"))
    return JsonResponse({"result": result}, json_dumps_params={"default": str})


@api_view("GET")
def task_status(request: HttpRequest, task_id: str) -> JsonResponse:
    caller = authenticate(request)
    owner = tasks.owner(task_id)
    if owner is None or (owner != caller.owner and not caller.is_superuser):
        raise FunctionError("TaskNotFound")  # someone else's task is as good as none
    return JsonResponse(tasks.status(task_id), json_dumps_params={"default": str})


@api_view("POST")
def clear_cache(request: HttpRequest) -> JsonResponse:
    caller = authenticate(request, csrf=True)
    if not caller.may_manage:
        raise FunctionError("PermissionDenied", "Clearing the cache needs an API key that is not delegated-only, "
                            "or a staff member's session.")
    return JsonResponse({"cleared": clear_app_token_cache()})


@api_view("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    raise FunctionError("UnknownFunction", f"There is nothing at {request.path}. GET {reverse('graphfns:openapi')} "
                        "describes the API.")
