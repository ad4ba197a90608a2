"""A page of the host that calls Microsoft Graph: as the signed-in member, and as the application."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse

import graphfns
from graphfns.errors import FunctionError


@login_required
def people(request: HttpRequest) -> JsonResponse:
    try:
        me = graphfns.execute("users.get", {"user_id": "me"}, auth_user=request.user)
        colleague = graphfns.execute("users.get", {"user_id": request.GET.get("colleague", "")})
    except FunctionError as exc:
        return JsonResponse({"error": exc.as_dict()}, status=exc.status)
    return JsonResponse({"email": request.user.email, "me": me["displayName"], "colleague": colleague["displayName"]})
