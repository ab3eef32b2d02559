"""
The admin's single sign-on pages: start, callback, logout, and the login page.

Each failure ends on a page that explains what went wrong, with a log line for
the operator. Nothing here redirects a request to the provider unless a person
pressed the sign-in button, so API calls from Swagger UI and the console's
scripts never land on the provider's login page.
"""

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib import admin, auth
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import UpdateError
from django.dispatch import receiver
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from . import provider
from .admission import SignInRejected
from .backend import SignInFailed

logger = logging.getLogger(__name__)

# The session remembers that single sign-on made it, for logout.
SESSION_ISSUER_KEY = "sso_issuer"
# How long a visitor may take at the provider before signing in. Their session
# contains only the pending state, and it expires after this time.
PENDING_SIGN_IN_SECONDS = 600
# Marks a session whose expiry is PENDING_SIGN_IN_SECONDS, so that a login
# with a password in the same session gets the usual lifetime back.
PENDING_SIGN_IN_KEY = "sso_pending"
CALLBACK_PARAMETERS = ("state", "code", "iss", "error")


@receiver(user_logged_in)
def restore_session_lifetime(sender, request, user, **kwargs):
    if request is not None and request.session.pop(PENDING_SIGN_IN_KEY, False):
        request.session.set_expiry(None)


def failure_page(request, title, message, status):
    context = {
        **admin.site.each_context(request),
        "title": title,
        "message": message,
        "login_url": reverse("admin:login"),
    }
    return render(request, "admin/sso_failed.html", context, status=status)


def provider_unavailable(request, error):
    logger.error("Single sign-on failed: %r", str(error))
    return failure_page(
        request,
        "The identity provider is unavailable",
        "Gatehouse could not reach your identity provider, or did not understand "
        "its answer. Try again in a moment; if this goes on, tell an administrator.",
        status=502,
    )


class LoginStartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider, with a state, a nonce and PKCE."""

    get_settings = staticmethod(provider.library_setting)

    def __init__(self, **kwargs):
        # The parent reads the endpoint here; it is discovered in get().
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request):
        try:
            metadata = provider.get_metadata()
        except provider.ProviderUnavailable as error:
            return provider_unavailable(request, error)
        self.OIDC_OP_AUTH_ENDPOINT = metadata.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = provider.config()["CLIENT_ID"]
        if not request.user.is_authenticated:
            request.session.set_expiry(PENDING_SIGN_IN_SECONDS)
            request.session[PENDING_SIGN_IN_KEY] = True
        response = super().get(request)
        # The page to return to belongs with its state, so that sign-ins
        # started in two tabs each return to their own page.
        state = parse_qs(urlsplit(response.url).query)["state"][0]
        next_url = request.session.pop("oidc_login_next", None)
        request.session["oidc_states"][state]["next"] = next_url
        request.session.modified = True
        response["Cache-Control"] = "no-store"
        return response


class CallbackView(OIDCAuthenticationCallbackView):
    """Finish the sign-in that LoginStartView began."""

    get_settings = staticmethod(provider.library_setting)

    # Debug pages and error reports hide the code, the verifier and the tokens.
    @sensitive_variables()
    def get(self, request):
        repeated = [
            name for name in CALLBACK_PARAMETERS if len(request.GET.getlist(name)) > 1
        ]
        if repeated:
            logger.warning(
                "Single sign-on callback rejected: %s repeated.", ", ".join(repeated)
            )
            return failure_page(
                request,
                "Sign-in link not valid",
                "This sign-in link has been altered. Start again from the login page.",
                status=400,
            )
        states = request.session.get("oidc_states")
        state = request.GET.get("state", "")
        if not isinstance(states, dict) or state not in states:
            logger.warning(
                "Single sign-on callback rejected: its state is unknown to this "
                "session (tampered, replayed, or from another browser)."
            )
            return failure_page(
                request,
                "Sign-in link not valid",
                "This sign-in link was already used, has been altered, or was "
                "started in another browser. Start again from the login page.",
                status=400,
            )
        # One use only: the state, its nonce and its verifier go now.
        pending = states.pop(state)
        request.session.modified = True
        try:
            request.session.save()
        except UpdateError:
            # A sign-in in another tab of this browser finished first and
            # replaced the session.
            logger.warning("Single sign-on callback rejected: session replaced.")
            return failure_page(
                request,
                "Sign-in not completed",
                "Another sign-in in this browser finished at the same time. Start "
                "again from the login page.",
                status=400,
            )

        try:
            metadata = provider.get_metadata()
        except provider.ProviderUnavailable as error:
            return provider_unavailable(request, error)
        issuer = request.GET.get("iss")
        if (
            issuer is not None or metadata.iss_parameter_supported
        ) and issuer != metadata.issuer:
            # RFC 9207: the response came from another provider than the one requested.
            logger.warning(
                "Single sign-on callback rejected: iss %r, expected %r.",
                issuer,
                metadata.issuer,
            )
            return failure_page(
                request,
                "Sign-in not completed",
                "The response did not come from the expected identity provider.",
                status=400,
            )
        if "error" in request.GET:
            error = request.GET.get("error", "")[:100]
            logger.warning("Single sign-on: the provider returned the error %r.", error)
            return failure_page(
                request,
                "Sign-in not completed",
                f"The identity provider ended the sign-in ({error}). Start again "
                "from the login page.",
                status=400,
            )
        if "code" not in request.GET:
            return failure_page(
                request,
                "Sign-in not completed",
                "The identity provider sent no sign-in code. Start again.",
                status=400,
            )

        # Reload the session, so that changes made by other tabs during the
        # requests to the provider are not overwritten.
        request.session = request.session.__class__(request.session.session_key)
        try:
            self.user = auth.authenticate(
                request=request,
                nonce=pending.get("nonce"),
                code_verifier=pending.get("code_verifier"),
            )
        except SignInRejected as rejection:
            return failure_page(request, "Access denied", rejection.message, status=403)
        except SignInFailed as failure:
            logger.warning("Single sign-on failed: %r", str(failure))
            return failure_page(
                request, "Sign-in not completed", str(failure), status=400
            )
        except provider.ProviderUnavailable as error:
            return provider_unavailable(request, error)
        if self.user is None:
            return failure_page(
                request,
                "Sign-in not completed",
                "The sign-in could not be completed. Start again.",
                status=400,
            )
        next_url = pending.get("next")
        auth.login(request, self.user)
        request.session[SESSION_ISSUER_KEY] = metadata.issuer
        # A fixed end, which later requests do not move.
        lifetime = timedelta(seconds=provider.config()["SESSION_SECONDS"])
        request.session.set_expiry(timezone.now() + lifetime)
        return HttpResponseRedirect(next_url or reverse("admin:index"))


class LogoutView(OIDCLogoutView):
    """End the Django session, and the provider's when it offers logout."""

    @sensitive_variables()
    def post(self, request):
        id_token = request.session.get("oidc_id_token")
        signed_in_by_provider = SESSION_ISSUER_KEY in request.session
        if not signed_in_by_provider:
            return admin.site.logout(request)
        auth.logout(request)
        try:
            metadata = provider.get_metadata()
        except provider.ProviderUnavailable as error:
            logger.warning("Single sign-on logout stayed local: %r", str(error))
            metadata = None
        if metadata is None or not metadata.end_session_endpoint:
            return admin.site.logout(request)
        # OpenID Connect RP-Initiated Logout 1.0, section 2.
        params = {
            "client_id": provider.config()["CLIENT_ID"],
            "post_logout_redirect_uri": request.build_absolute_uri(
                reverse("admin:login")
            ),
        }
        if id_token:
            params["id_token_hint"] = id_token
        endpoint = metadata.end_session_endpoint
        separator = "&" if "?" in endpoint else "?"
        return HttpResponseRedirect(f"{endpoint}{separator}{urlencode(params)}")


@never_cache
def login(request):
    """Render the admin's login page, with the single sign-on button."""
    if request.method == "POST" and not settings.GATEHOUSE_PASSWORD_LOGIN:
        return HttpResponseNotAllowed(["GET"])
    return admin.site.login(
        request,
        extra_context={
            "sso_label": provider.config()["BUTTON_LABEL"],
            "password_login": settings.GATEHOUSE_PASSWORD_LOGIN,
        },
    )
