"""
The sample ping API: one public route, routes that need any valid token, and
routes that need a scope. The Auth0 quickstart routes (`/api/public`,
`/api/private`, `/api/private-scoped`) answer with the same statuses as those
samples, so clients written for them work unchanged.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ping.models import Message
from ping.serializers import (
    GreetingSerializer,
    MessageSerializer,
    SecureGreetingSerializer,
)
from scopes.authentication import BearerTokenAuthentication
from scopes.permissions import TokenHasScopes

# Bearer tokens only: a logged-in admin's session cookie never authenticates.
TOKEN_AUTHENTICATION = [BearerTokenAuthentication]


class PublicView(APIView):
    # No authentication at all, so even a garbage token is ignored here.
    authentication_classes = []
    permission_classes = [AllowAny]
    message = "Hello from a public endpoint. No token needed."

    @extend_schema(responses=GreetingSerializer, tags=["ping"])
    def get(self, request):
        return Response({"message": self.message})


class PingView(PublicView):
    message = "pong"


class SecurePingView(APIView):
    authentication_classes = TOKEN_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    message = "pong, with a valid access token."

    @extend_schema(responses=SecureGreetingSerializer, tags=["ping"])
    def get(self, request):
        return Response({"message": self.message, "client_id": request.auth.client_id})


class PrivateView(SecurePingView):
    message = "Hello from a private endpoint. A valid access token was needed."


class PrivateScopedView(SecurePingView):
    permission_classes = [TokenHasScopes]
    required_scopes = ["read:messages"]
    message = (
        "Hello from a private endpoint. A token with the read:messages scope "
        "was needed."
    )


class ClaimsView(APIView):
    authentication_classes = TOKEN_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        tags=["ping"],
        summary="The validated claims of the access token",
    )
    def get(self, request):
        return Response(request.auth.claims)


class MessagePagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


@extend_schema_view(
    get=extend_schema(tags=["ping"], summary="List messages"),
    post=extend_schema(tags=["ping"], summary="Post a message"),
)
class MessageListView(generics.ListCreateAPIView):
    authentication_classes = TOKEN_AUTHENTICATION
    permission_classes = [TokenHasScopes]
    required_scopes = {"GET": ["read:messages"], "POST": ["create:messages"]}
    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    pagination_class = MessagePagination

    def perform_create(self, serializer):
        serializer.save(client_id=self.request.auth.client_id or "")
