from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from membership.models import MicrosoftSettings


def home(request: HttpRequest) -> HttpResponse:
    ms = MicrosoftSettings.objects.filter(pk=1).first()
    return render(request, "membership/home.html", {"microsoft_enabled": bool(ms and ms.enabled)})
