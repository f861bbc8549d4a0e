"""The consortium's REST endpoints: thin views over its services and selectors."""

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from consortium import selectors, services
from consortium import serializers as s
from consortium.models import ApiToken, Institution, Membership
from portal.cached_pages import CachedListMixin
from portal.clientip import client_ip
from portal.lockout import LockedOut
from portal.permissions import AuthenticatedRequest, Perm, actor_for, require


class TokenThrottle(AnonRateThrottle):
    """Slows password guessing through the token endpoint, per client address: the peer's, or
    the hop our own proxies wrote (portal/clientip.py), never what the client says it is."""

    rate = "30/min"

    def get_ident(self, request: Request) -> str:
        return client_ip(request)


class TokenView(APIView):
    """`POST` trades a username and password for an API token; `DELETE` revokes the token used."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(request=s.TokenRequestSerializer, responses={201: s.TokenSerializer})
    def post(self, request: Request) -> Response:
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, on which the lockout (portal/lockout.py) notes what it decided.
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise LockedOut(request)
            raise AuthenticationFailed("Wrong username or password.")
        token, secret = services.api_token_issue(
            user=user, name=data.validated_data.get("name", "")
        )
        body = {"token": secret, "prefix": token.prefix, "expires_at": token.expires_at}
        return Response(s.TokenSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        if not isinstance(request.auth, ApiToken):
            raise NotAuthenticated("Send the token to revoke as: Authorization: Bearer <token>.")
        services.api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListView(generics.ListAPIView):
    """The signed-in account's own live tokens: id, name, prefix, created, last used, expiry."""

    serializer_class = s.TokenInfoSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.api_token_list(user=self.request.user)


class TokenDetailView(APIView):
    """`DELETE` revokes one of your own tokens (404 for anyone else's)."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        token = get_object_or_404(selectors.own_tokens(user=request.user), pk=pk)
        services.api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        actor = actor_for(request.user)
        institution = selectors.institution_of(actor)
        body = {
            "id": request.user.pk,
            "username": request.user.get_username(),
            "institution": institution,
            "institution_role": actor.institution_role,
            "consortium_roles": sorted(actor.consortium_roles),
        }
        return Response(s.MeSerializer(body).data)


# The ignore below: a cached hit is a plain HttpResponse of the bytes rendered before
# (portal/cached_pages.py), which DRF accepts, where ListModelMixin.list declares a Response.
class InstitutionListView(CachedListMixin, generics.ListCreateAPIView):  # type: ignore[misc]
    """Every member institution. Moderators add new ones."""

    serializer_class = s.InstitutionSerializer
    filterset_fields = ["kind"]
    cache_sections = ["consortium"]

    def get_queryset(self):
        return selectors.institution_list(user=self.request.user)

    def perform_create(self, serializer: BaseSerializer[Institution]) -> None:
        require(self.request.user, Perm.INSTITUTION_CREATE)
        serializer.instance = services.institution_create(**serializer.validated_data)


class InstitutionDetailView(generics.RetrieveAPIView):
    serializer_class = s.InstitutionSerializer

    def get_queryset(self):
        return selectors.institution_list(user=self.request.user)


class InstitutionMembershipsView(generics.ListAPIView):
    """The people of one institution: visible to that institution (and to moderators) only."""

    serializer_class = s.MembershipSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return Membership.objects.none()
        institution = get_object_or_404(
            selectors.institution_list(user=self.request.user), pk=self.kwargs["pk"]
        )
        return selectors.membership_list(user=self.request.user, institution=institution)


class MembershipListView(generics.ListAPIView):
    serializer_class = s.MembershipSerializer
    filterset_fields = ["role"]

    def get_queryset(self):
        return selectors.membership_visible_qs(user=self.request.user)


class MembershipDetailView(APIView):
    """`GET` a membership you may see; `PATCH {"role": …}` if you are its institution's steward."""

    def _get(self, request: AuthenticatedRequest, pk: int) -> Membership:
        membership = get_object_or_404(selectors.membership_visible_qs(user=request.user), pk=pk)
        require(request.user, Perm.MEMBERSHIP_VIEW, membership)
        return membership

    @extend_schema(responses=s.MembershipSerializer)
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(s.MembershipSerializer(self._get(request, pk)).data)

    @extend_schema(request=s.MembershipRoleSerializer, responses=s.MembershipSerializer)
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        membership = self._get(request, pk)
        data = s.MembershipRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = services.membership_set_role(
            by=request.user, membership=membership, role=data.validated_data["role"]
        )
        return Response(s.MembershipSerializer(changed).data)
