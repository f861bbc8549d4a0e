"""The grant page's Delta Sharing actions: download a profile, revoke a token."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from access.selectors import grants_visible
from portal.errors import DomainError
from sharing import selectors, services


@login_required
@require_POST
def profile_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A new token (or, with kind=oauth, OAuth client credentials) for this person and grant,
    handed out once as a profile file."""
    grant = get_object_or_404(grants_visible(user=request.user), pk=pk)
    endpoint = settings.SHARING_BASE_URL.rstrip("/") + reverse("sharing-root").rstrip("/")
    try:
        if request.POST.get("kind") == "oauth":
            client, secret = services.oauth_client_create(user=request.user, grant=grant)
            profile = services.oauth_profile_json(client=client, secret=secret, endpoint=endpoint)
        else:
            token, secret = services.sharing_token_create(user=request.user, grant=grant)
            profile = services.profile_json(token=token, secret=secret, endpoint=endpoint)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("grants")
    body = json.dumps(profile, indent=2)
    response = HttpResponse(body + "\n", content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="bizi-grant{grant.pk}.share"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.own_token(user=request.user, pk=pk)
    services.sharing_token_revoke(user=request.user, token=token)
    messages.success(request, f"Token {token.prefix}… revoked: it works no more.")
    return redirect("grants")


@login_required
@require_POST
def client_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.own_client(user=request.user, pk=pk)
    services.oauth_client_revoke(user=request.user, client=client)
    messages.success(request, f"OAuth client {client.client_id} revoked, and its tokens.")
    return redirect("grants")
