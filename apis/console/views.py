"""
The tabs of an API's admin page, in the manner of Auth0's APIs dashboard:
Quick Start, Settings (the change form), Permissions, Machine to Machine
Applications and Test.
"""

import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apis.console.forms import MintForm, ScopeFormSet
from apis.console.snippets import api_call_snippet, token_request_snippets
from apis.errors import OAuthError
from apis.keys import SigningKeyUnavailable
from apis.models import Application, ClientGrant, TokenRecord
from apis.tokens import issue_token

logger = logging.getLogger(__name__)

MINT_PERMISSION = "apis.mint_test_token"
APPLICATIONS_PER_PAGE = 50

HEADER_NOTES = {
    "alg": "Signing algorithm. Resource servers accept only the one they expect.",
    "kid": "Key id: which key of the JWKS verifies the signature.",
    "typ": "Token type: at+jwt (RFC 9068), or JWT for clients written for Auth0.",
}
CLAIM_NOTES = {
    "iss": "Issuer: the authorization server, matched exactly by resource servers.",
    "sub": "Subject: the application, as <client_id>@clients.",
    "aud": "Audience: the API that must accept the token.",
    "iat": "Issued at, in seconds since 1970.",
    "exp": "Expires at, in seconds since 1970; the token is rejected after it.",
    "jti": "Token id, unique for every token.",
    "client_id": "The application the token was issued to.",
    "azp": "Authorized party: the same application.",
    "gty": "Grant type: client credentials.",
    "scope": "The scopes the token carries, space-delimited.",
}


def _as_id(value):
    """Return `value` as a primary key, or None when it cannot be one."""
    if not (value.isascii() and value.isdecimal()):
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None


def _explained(values, notes):
    rows = []
    for name, value in values.items():
        note = notes.get(name, "")
        if name in {"iat", "exp"}:
            moment = datetime.fromtimestamp(value, tz=UTC)
            value = f"{value} ({moment:%Y-%m-%d %H:%M:%S} UTC)"
        rows.append((name, value, note))
    return rows


class APIConsoleMixin:
    """Views for the tabs of `APIAdmin`; the Settings tab is the change form."""

    def get_urls(self):
        def view(name, function):
            return path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(function),
                name=f"apis_api_{name}",
            )

        return [
            view("quickstart", self.quickstart_view),
            view("permissions", self.permissions_view),
            view("applications", self.applications_view),
            view("test", self.test_view),
            *super().get_urls(),
        ]

    # Helpers shared by the tabs.

    def get_console_api(self, request, object_id):
        api = self.get_object(request, unquote(object_id))
        if api is None:
            raise Http404(f"No API with the id {object_id!r}.")
        if not self.has_view_or_change_permission(request, api):
            raise PermissionDenied
        return api

    def console_tabs(self, request, api):
        tabs = [
            ("quickstart", "Quick Start"),
            ("change", "Settings"),
            ("permissions", "Permissions"),
        ]
        if request.user.has_perm("apis.view_application"):
            tabs.append(("applications", "Machine to Machine Applications"))
        if request.user.has_perm(MINT_PERMISSION):
            tabs.append(("test", "Test"))
        return [
            (name, label, reverse(f"admin:apis_api_{name}", args=[api.pk]))
            for name, label in tabs
        ]

    def console_context(self, request, api, tab, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": api,
            "api": api,
            "title": api.name,
            "tabs": self.console_tabs(request, api),
            "active_tab": tab,
            **extra,
        }

    def render_tab(self, request, api, tab, context):
        return TemplateResponse(
            request,
            f"admin/apis/api/console/{tab}.html",
            self.console_context(request, api, tab, **context),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        api = self.get_object(request, unquote(object_id))
        extra_context = extra_context or {}
        if api is not None:
            extra_context["tabs"] = self.console_tabs(request, api)
            extra_context["active_tab"] = "change"
        return super().change_view(request, object_id, form_url, extra_context)

    # Quick Start.

    def quickstart_view(self, request, object_id):
        api = self.get_console_api(request, object_id)
        issuer = settings.GATEHOUSE_ISSUER
        scopes = list(api.scopes.values_list("value", flat=True))
        example_scope = scopes[0] if scopes else "read:items"
        jwks_uri = f"{issuer}.well-known/jwks.json"
        return self.render_tab(
            request,
            api,
            "quickstart",
            {
                "issuer": issuer,
                "jwks_uri": jwks_uri,
                # Python string literals for the settings example.
                "issuer_literal": json.dumps(issuer, ensure_ascii=False),
                "jwks_uri_literal": json.dumps(jwks_uri, ensure_ascii=False),
                "audience_literal": json.dumps(api.identifier, ensure_ascii=False),
                "example_scope_literal": json.dumps(example_scope, ensure_ascii=False),
                "is_hs256": api.signing_algorithm == "HS256",
                "token_url": f"{issuer}oauth/token",
                "metadata_url": f"{issuer}.well-known/oauth-authorization-server",
                "example_scope": scopes[0] if scopes else "read:items",
            },
        )

    # Permissions: the API's scopes.

    def can_edit_scopes(self, request):
        return all(
            request.user.has_perm(f"apis.{action}_scope")
            for action in ("add", "change", "delete")
        )

    def permissions_view(self, request, object_id):
        api = self.get_console_api(request, object_id)
        editable = self.can_edit_scopes(request)
        formset = ScopeFormSet(instance=api, prefix="scopes")
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            formset = ScopeFormSet(request.POST, instance=api, prefix="scopes")
            if formset.is_valid() and self.save_scopes(request, api, formset):
                return HttpResponseRedirect(request.path)
        return self.render_tab(
            request, api, "permissions", {"formset": formset, "editable": editable}
        )

    def save_scopes(self, request, api, formset):
        try:
            with transaction.atomic():
                formset.save()
        except IntegrityError:
            # Rows are saved one by one, so swapping two values collides with
            # the unique constraint half-way; nothing was saved.
            messages.error(
                request,
                "Two scopes cannot trade values in one save. Rename one to a "
                "temporary value first.",
            )
            return False
        self.log_change(request, api, "Changed the API's scopes.")
        messages.success(request, "The scopes were saved.")
        return True

    # Machine to Machine Applications: grants of this API.

    def can_edit_grants(self, request):
        return all(
            request.user.has_perm(f"apis.{action}_clientgrant")
            for action in ("add", "change", "delete")
        )

    def applications_view(self, request, object_id):
        api = self.get_console_api(request, object_id)
        if not request.user.has_perm("apis.view_application"):
            raise PermissionDenied
        editable = self.can_edit_grants(request)
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            self.save_grants(request, api)
            return HttpResponseRedirect(request.get_full_path())

        applications = Application.objects.order_by("name")
        query = request.GET.get("q", "").strip()
        if query:
            applications = applications.filter(
                Q(name__icontains=query) | Q(client_id=query)
            )
        page = Paginator(applications, APPLICATIONS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        api_scopes = list(api.scopes.order_by("value").values_list("value", flat=True))
        grants = {
            grant.application_id: grant
            for grant in api.grants.filter(
                application__in=page.object_list
            ).prefetch_related("scopes")
        }
        rows = []
        for application in page.object_list:
            grant = grants.get(application.pk)
            granted = {scope.value for scope in grant.scopes.all()} if grant else set()
            rows.append(
                {
                    "application": application,
                    "authorized": grant is not None,
                    "scopes": [(value, value in granted) for value in api_scopes],
                    "missing": len(set(api_scopes) - granted) if grant else 0,
                    "is_test": application.pk == api.test_application_id,
                }
            )
        return self.render_tab(
            request,
            api,
            "applications",
            {"rows": rows, "page": page, "query": query, "editable": editable},
        )

    @transaction.atomic
    def save_grants(self, request, api):
        scopes = {scope.value: scope for scope in api.scopes.all()}
        grant_all = request.POST.get("grant_all")
        if grant_all:
            pk = _as_id(grant_all)
            application = Application.objects.filter(pk=pk).first() if pk else None
            if application is None:
                raise Http404("No such application.")
            grant, _ = ClientGrant.objects.get_or_create(
                application=application, api=api
            )
            grant.scopes.set(scopes.values())
            self.log_change(request, api, f"Granted every scope to {application}.")
            messages.success(request, f"{application} is granted every scope.")
            return

        ids = filter(None, map(_as_id, request.POST.getlist("application")))
        for application in Application.objects.filter(pk__in=list(ids)):
            authorized = f"authorized-{application.pk}" in request.POST
            chosen = [
                scopes[value]
                for value in request.POST.getlist(f"scopes-{application.pk}")
                if value in scopes
            ]
            grant = ClientGrant.objects.filter(application=application, api=api).first()
            if not authorized:
                if grant is not None:
                    grant.delete()
                continue
            if grant is None:
                grant = ClientGrant.objects.create(application=application, api=api)
            grant.scopes.set(chosen)
        self.log_change(request, api, "Changed the authorized applications.")
        messages.success(request, "The authorized applications were saved.")

    # Test: mint a token as an authorized application.

    def test_view(self, request, object_id):
        api = self.get_console_api(request, object_id)
        if not request.user.has_perm(MINT_PERMISSION):
            raise PermissionDenied
        form = MintForm(api=api)
        result = None
        if request.method == "POST":
            form = MintForm(request.POST, api=api)
            if form.is_valid():
                result = self.mint(request, api, form)

        context = {
            "form": form,
            "result": result,
            "scope_map": form.scope_map(),
            "is_ping_api": api.identifier == settings.PING_API_IDENTIFIER,
            "issuer": settings.GATEHOUSE_ISSUER,
        }
        response = self.render_tab(request, api, "test", context)
        # The page may carry a live access token.
        response["Cache-Control"] = "no-store"
        return response

    def mint(self, request, api, form):
        """Mint a token with the token endpoint's code; record it, never the token."""
        application = form.cleaned_data["application"]
        try:
            token = issue_token(
                application,
                audience=api.identifier,
                scopes=list(form.cleaned_data["scopes"]),
                source=TokenRecord.Source.CONSOLE,
                issued_by=request.user,
            )
        except (OAuthError, SigningKeyUnavailable) as error:
            logger.warning(
                "Console mint for %s failed: %s", application.client_id, error
            )
            form.add_error(None, getattr(error, "description", str(error)))
            return None

        claims = token.claims
        logger.info(
            "User %s minted token %s for client %s",
            request.user.pk,
            claims["jti"],
            application.client_id,
        )

        issuer = settings.GATEHOUSE_ISSUER
        if api.identifier == settings.PING_API_IDENTIFIER:
            call_url = f"{issuer}api/ping/secure"
        elif api.identifier.startswith(("https://", "http://")):
            call_url = api.identifier
        else:
            call_url = "https://YOUR_API/endpoint"
        return {
            "application": application,
            "token": token,
            "header_rows": _explained(token.header, HEADER_NOTES),
            "claim_rows": _explained(claims, CLAIM_NOTES),
            "token_snippets": token_request_snippets(
                f"{issuer}oauth/token", application.client_id, api.identifier
            ),
            "call_snippet": api_call_snippet(call_url, token.access_token),
            "rotate_url": reverse(
                "admin:apis_application_rotate_secret", args=[application.pk]
            )
            if request.user.has_perm("apis.change_application")
            else None,
        }
