from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from scopes.permissions import TokenHasScopes


class InvoiceView(APIView):
    permission_classes = [TokenHasScopes]
    required_scopes = {"GET": ["read:invoices"]}

    def get(self, request):
        return Response({"subject": request.auth.subject})


urlpatterns = [path("invoices", InvoiceView.as_view())]
