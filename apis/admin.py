import base64
import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apis.activity import ACTIVITY_DAYS, activity_summary
from apis.console.views import APIConsoleMixin
from apis.keys import (
    KeyStateError,
    create_signing_key,
    publish_new_version,
    revoke,
    rotate,
    rotate_secret,
)
from apis.models import (
    API,
    Application,
    ClientGrant,
    KeyEvent,
    Scope,
    SigningAlgorithm,
    SigningKey,
    SingleSignOnIdentity,
    TokenRecord,
    TokenRequestFailure,
)
from apis.services import (
    create_test_application,
    rotate_client_secret,
    withdraw_admin_rights,
)


class HidesSensitiveFieldsMixin:
    """
    Reject changelist filters on fields that hold secrets.

    The admin accepts a filter on any field of the model from the URL, such as
    `?client_secret_hash__startswith=a`, which would let a user with only the
    view permission read a hidden value one character at a time.
    """

    sensitive_fields = ()

    def lookup_allowed(self, lookup, value, request=None):
        field_name = lookup.split(LOOKUP_SEP, 1)[0]
        if field_name in self.sensitive_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


class ReadOnlyAdminMixin:
    """An admin that lists and shows records but never adds, changes or deletes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PageContextMixin:
    """The context of an admin page of our own: the site's, plus `opts`."""

    def page_context(self, request, **context):
        return {**self.admin_site.each_context(request), "opts": self.opts, **context}


class ScopeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.api.name}: {obj.value}"


class ClientGrantForm(forms.ModelForm):
    class Meta:
        model = ClientGrant
        fields = ["application", "api", "scopes"]

    def clean(self):
        cleaned_data = super().clean()
        api = cleaned_data.get("api") or getattr(self.instance, "api", None)
        scopes = cleaned_data.get("scopes")
        if api is not None and scopes is not None:
            foreign = [scope.value for scope in scopes if scope.api_id != api.pk]
            if foreign:
                self.add_error(
                    "scopes",
                    f"These scopes belong to another API than {api.name}: "
                    f"{', '.join(foreign)}.",
                )
        return cleaned_data


class GrantScopesMixin:
    """Label the scopes of a grant with their API."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "scopes":
            kwargs["queryset"] = Scope.objects.select_related("api")
            kwargs["form_class"] = ScopeChoiceField
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopeInline(admin.TabularInline):
    model = Scope
    fields = ["value", "description"]
    extra = 1


@admin.register(API)
class APIAdmin(APIConsoleMixin, PageContextMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "identifier",
        "signing_algorithm",
        "token_profile",
        "token_lifetime_seconds",
        "scope_count",
    ]
    list_filter = ["signing_algorithm", "token_profile"]
    search_fields = ["name", "identifier"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(scope_total=Count("scopes"))

    @admin.display(description="scopes", ordering="scope_total")
    def scope_count(self, obj):
        return obj.scope_total

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["created_at"]
        # The identifier is every token's audience; changing it would strand
        # the resource servers that check it.
        return ["identifier", "test_application_link", "created_at", "updated_at"]

    @admin.display(description="test application")
    def test_application_link(self, obj):
        if obj.test_application is None:
            return "-"
        url = reverse("admin:apis_application_change", args=[obj.test_application.pk])
        return format_html('<a href="{}">{}</a>', url, obj.test_application)

    def get_inlines(self, request, obj):
        # Scopes are entered with a new API, so its Test Application gets
        # them; afterwards the Permissions tab edits them.
        return [ScopeInline] if obj is None else []

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            create_test_application(form.instance)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        has_secret = obj.secret_keys.filter(state=SigningKey.State.CURRENT).exists()
        if obj.signing_algorithm == SigningAlgorithm.HS256 and not has_secret:
            _, secret = create_signing_key(
                SigningAlgorithm.HS256,
                SigningKey.State.CURRENT,
                actor=request.user.get_username(),
                api=obj,
            )
            publish_new_version()
            request._new_hs256_secret = base64.urlsafe_b64encode(secret).decode()

    def response_add(self, request, obj, post_url_continue=None):
        return self._hs256_secret_response(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request, obj):
        return self._hs256_secret_response(request, obj) or super().response_change(
            request, obj
        )

    def get_urls(self):
        rotate_secret_url = path(
            "<path:object_id>/rotate-hs256-secret/",
            self.admin_site.admin_view(self.rotate_hs256_secret_view),
            name="apis_api_rotate_hs256_secret",
        )
        return [rotate_secret_url, *super().get_urls()]

    def rotate_hs256_secret_view(self, request, object_id):
        if not request.user.has_perm("apis.rotate_signingkey"):
            raise PermissionDenied
        api = self.get_object(request, unquote(object_id))
        if api is None or api.signing_algorithm != SigningAlgorithm.HS256:
            raise Http404("No API that signs with HS256 has this id.")
        if request.method == "POST":
            _, secret = rotate_secret(api, actor=request.user.get_username())
            request._new_hs256_secret = base64.urlsafe_b64encode(secret).decode()
            return self._hs256_secret_response(request, api)
        context = self.page_context(
            request,
            api=api,
            title="Rotate the HS256 secret?",
        )
        return TemplateResponse(
            request, "admin/apis/api/rotate_hs256_secret.html", context
        )

    def _hs256_secret_response(self, request, api):
        secret = getattr(request, "_new_hs256_secret", None)
        if secret is None:
            return None
        context = self.page_context(
            request,
            api=api,
            secret=secret,
            title="HS256 secret",
        )
        response = TemplateResponse(
            request, "admin/apis/api/hs256_secret.html", context
        )
        response["Cache-Control"] = "no-store"
        return response


class ApplicationGrantInline(GrantScopesMixin, admin.TabularInline):
    model = ClientGrant
    form = ClientGrantForm
    fields = ["api", "scopes"]
    extra = 0
    verbose_name = "authorized API"
    verbose_name_plural = "authorized APIs"


@admin.register(Application)
class ApplicationAdmin(HidesSensitiveFieldsMixin, PageContextMixin, admin.ModelAdmin):
    sensitive_fields = ["client_secret_hash"]
    list_display = ["name", "client_id", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "client_id", "description"]
    fields = [
        "name",
        "description",
        "active",
        "max_tokens_per_hour",
        "max_tokens_per_day",
        "client_id",
        "created_at",
        "secret_rotated_at",
    ]
    readonly_fields = ["client_id", "created_at", "secret_rotated_at"]
    inlines = [ApplicationGrantInline]

    def get_urls(self):
        rotate = path(
            "<path:object_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="apis_application_rotate_secret",
        )
        return [rotate, *super().get_urls()]

    def save_model(self, request, obj, form, change):
        if not change:
            request._new_client_secret = obj.set_client_secret()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_new_client_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self.render_secret(request, obj, secret, created=True)

    def rotate_secret_view(self, request, object_id):
        application = self.get_object(request, unquote(object_id))
        if application is None:
            raise Http404(f"No application with the id {object_id!r}.")
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        if request.method == "POST":
            secret = rotate_client_secret(application)
            self.log_change(request, application, "Rotated the client secret.")
            return self.render_secret(request, application, secret, created=False)
        context = self.page_context(
            request,
            application=application,
            title="Rotate the client secret?",
        )
        return TemplateResponse(
            request, "admin/apis/application/rotate_secret.html", context
        )

    def render_secret(self, request, application, secret, created):
        context = self.page_context(
            request,
            application=application,
            client_secret=secret,
            created=created,
            title="Client secret",
        )
        if IS_POPUP_VAR in request.POST:
            # Opened from a "+" link: the page hands the application back to
            # the opening form once the secret has been copied.
            context["is_popup"] = True
            context["popup_response"] = json.dumps(
                {"value": str(application.pk), "obj": str(application)}
            )
        response = TemplateResponse(
            request, "admin/apis/application/client_secret.html", context
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(ClientGrant)
class ClientGrantAdmin(GrantScopesMixin, admin.ModelAdmin):
    form = ClientGrantForm
    list_display = ["application", "api", "granted_scopes"]
    list_filter = ["api"]
    list_select_related = ["application", "api"]
    search_fields = [
        "application__name",
        "application__client_id",
        "api__name",
        "api__identifier",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scopes")

    @admin.display(description="scopes")
    def granted_scopes(self, obj):
        return " ".join(scope.value for scope in obj.scopes.all()) or "-"


@admin.register(SigningKey)
class SigningKeyAdmin(
    HidesSensitiveFieldsMixin, ReadOnlyAdminMixin, PageContextMixin, admin.ModelAdmin
):
    """Read-only keys, with rotation and revocation; the private half never shows."""

    sensitive_fields = ["encrypted_private_key"]
    list_display = [
        "kid",
        "algorithm",
        "state",
        "api",
        "created_at",
        "activated_at",
        "retired_at",
        "revoked_at",
    ]
    list_filter = ["algorithm", "state"]
    list_select_related = ["api"]
    search_fields = ["kid"]
    fields = [
        "kid",
        "algorithm",
        "state",
        "api",
        "created_at",
        "activated_at",
        "retired_at",
        "revoked_at",
        "public_jwk",
    ]
    readonly_fields = fields

    def get_urls(self):
        return [
            path(
                "rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="apis_signingkey_rotate",
            ),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="apis_signingkey_revoke",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_rotate"] = request.user.has_perm("apis.rotate_signingkey")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_revoke"] = request.user.has_perm("apis.revoke_signingkey")
        return super().change_view(request, object_id, form_url, extra_context)

    def rotate_view(self, request):
        if not request.user.has_perm("apis.rotate_signingkey"):
            raise PermissionDenied
        algorithms = sorted(
            SigningKey.objects.filter(
                api=None, state=SigningKey.State.NEXT
            ).values_list("algorithm", flat=True)
        )
        if request.method == "POST":
            algorithm = request.POST.get("algorithm")
            if algorithm not in algorithms:
                messages.error(request, "Choose an algorithm that has keys.")
            else:
                try:
                    current = rotate(
                        algorithm,
                        actor=request.user.get_username(),
                        force="force" in request.POST,
                    )
                except KeyStateError as error:
                    messages.error(request, str(error))
                else:
                    messages.success(
                        request, f"Rotated {algorithm}: key {current.kid} now signs."
                    )
                    return HttpResponseRedirect(
                        reverse("admin:apis_signingkey_changelist")
                    )
        context = self.page_context(
            request,
            title="Rotate signing keys",
            algorithms=algorithms,
            jwks_max_age=settings.GATEHOUSE_JWKS_MAX_AGE_SECONDS,
        )
        return TemplateResponse(request, "admin/apis/signingkey/rotate.html", context)

    def revoke_view(self, request, object_id):
        if not request.user.has_perm("apis.revoke_signingkey"):
            raise PermissionDenied
        key = self.get_object(request, unquote(object_id))
        if key is None:
            raise Http404(f"No signing key with the id {object_id!r}.")
        if request.method == "POST":
            try:
                revoke(key.kid, actor=request.user.get_username())
            except KeyStateError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"Revoked the key {key.kid}.")
            return HttpResponseRedirect(
                reverse("admin:apis_signingkey_change", args=[key.pk])
            )
        context = self.page_context(
            request,
            title="Revoke this signing key?",
            key=key,
            revocable=key.state == SigningKey.State.PREVIOUS,
        )
        return TemplateResponse(request, "admin/apis/signingkey/revoke.html", context)


@admin.register(KeyEvent)
class KeyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of signing keys: read-only."""

    list_display = ["created_at", "kid", "algorithm", "action", "actor"]
    list_filter = ["action", "algorithm"]
    search_fields = ["kid", "actor"]


@admin.register(SingleSignOnIdentity)
class SingleSignOnIdentityAdmin(admin.ModelAdmin):
    """
    The provider accounts linked to users. Deleting one unlinks it and takes
    from its user the staff, superuser and group rights that single sign-on
    gives. The next sign-in by that person links again, by verified email, or
    makes a new user, and gives back what the provider then grants.
    """

    list_display = ["subject", "email", "user", "issuer", "last_sign_in_at"]
    list_filter = ["issuer"]
    list_select_related = ["user"]
    search_fields = ["subject", "email", "user__username"]
    readonly_fields = [
        "user",
        "issuer",
        "subject",
        "email",
        "created_at",
        "last_sign_in_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewing needs the view permission; nothing here can be edited.
        return False

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        withdraw_admin_rights(obj.user)

    def delete_queryset(self, request, queryset):
        users = [identity.user for identity in queryset.select_related("user")]
        super().delete_queryset(request, queryset)
        for user in users:
            withdraw_admin_rights(user)


@admin.register(TokenRecord)
class TokenRecordAdmin(ReadOnlyAdminMixin, PageContextMixin, admin.ModelAdmin):
    """Issued tokens, read-only and never the token itself, with activity charts."""

    list_display = [
        "jti",
        "client_id",
        "audience",
        "scopes",
        "source",
        "issued_by",
        "issued_at",
    ]
    list_filter = ["source", "api"]
    list_select_related = ["issued_by"]
    search_fields = ["jti", "client_id", "audience"]
    date_hierarchy = "issued_at"
    show_full_result_count = False

    def get_urls(self):
        activity = path(
            "activity/",
            self.admin_site.admin_view(self.activity_view),
            name="apis_tokenrecord_activity",
        )
        return [activity, *super().get_urls()]

    def activity_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = self.page_context(
            request,
            title="Token activity",
            **activity_summary(ACTIVITY_DAYS),
        )
        return TemplateResponse(
            request, "admin/apis/tokenrecord/activity.html", context
        )


@admin.register(TokenRequestFailure)
class TokenRequestFailureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Token requests the endpoint refused: read-only, and never a secret."""

    list_display = ["created_at", "error", "client_id", "address", "description"]
    list_filter = ["error"]
    search_fields = ["client_id", "address"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ["value", "api", "description"]
    list_filter = ["api"]
    list_select_related = ["api"]
    search_fields = ["value", "description", "api__name", "api__identifier"]
    ordering = ["api__name", "value"]
