"""Work that spans several models of the registry."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apis.models import API, Application, ClientGrant, Scope


@transaction.atomic
def create_test_application(api):
    """
    Create the API's "<name> (Test Application)", granted every scope it has.

    Its secret is not returned, since no one has seen it, and the admin's "Rotate
    client secret" gives the application one to use.
    """
    suffix = " (Test Application)"
    application = Application(name=api.name[: 200 - len(suffix)] + suffix)
    application.set_client_secret()
    application.description = f"Created with the API {api.identifier} for tests."
    application.save()
    grant = ClientGrant.objects.create(application=application, api=api)
    grant.scopes.set(api.scopes.all())
    api.test_application = application
    api.save(update_fields=["test_application", "updated_at"])
    return application


@transaction.atomic
def create_api(*, name, identifier, scopes=(), **fields):
    """
    Register an API with its scopes and its test application.

    `scopes` contains (value, description) pairs. Every value is validated, so a
    bad one raises `ValidationError` and nothing is created.
    """
    api = API(name=name, identifier=identifier, **fields)
    api.full_clean()
    api.save()
    for value, description in scopes:
        scope = Scope(api=api, value=value, description=description)
        scope.full_clean()
        scope.save()
    create_test_application(api)
    return api


@transaction.atomic
def create_application(*, name, api, scope_values=(), description=""):
    """
    Create an application granted `scope_values` of `api`.

    Return the application and its client secret, which is not stored and
    cannot be shown again.
    """
    application = Application(name=name, description=description)
    secret = application.set_client_secret()
    application.full_clean()
    application.save()
    grant = ClientGrant.objects.create(application=application, api=api)
    grant.scopes.set(api.scopes.filter(value__in=scope_values))
    return application, secret


def rotate_client_secret(application):
    """Give `application` a new secret, return it, and stop the old one working."""
    secret = application.set_client_secret()
    application.secret_rotated_at = timezone.now()
    application.save(update_fields=["client_secret_hash", "secret_rotated_at"])
    return secret


def sso_managed_groups():
    """Return the names of the Django groups that single sign-on assigns."""
    sso = settings.GATEHOUSE_SSO or {}
    return {name for names in sso.get("GROUP_MAP", {}).values() for name in names}


@transaction.atomic
def withdraw_admin_rights(user):
    """
    Take staff, superuser and the groups that single sign-on assigns from
    `user`, whose rights came from an OpenID provider that no longer vouches
    for them. Groups given by hand stay.
    """
    user.is_staff = False
    user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.remove(*Group.objects.filter(name__in=sso_managed_groups()))
