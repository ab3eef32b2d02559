import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apis.keys import ensure_signing_key
from apis.models import API, Scope
from apis.services import create_api, rotate_client_secret

PING_API_NAME = "Ping API"
PING_API_SCOPES = [
    ("read:messages", "Read messages from the ping API."),
    ("create:messages", "Post messages to the ping API."),
]


class Command(BaseCommand):
    help = (
        "Prepare a new installation: the signing key, the ping API with its scopes "
        "and Test Application, and an admin account when none exists. Safe to run "
        "again."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        signing_key = ensure_signing_key()
        self.stdout.write(f"Signing key: {signing_key.algorithm} {signing_key.kid}")

        try:
            api = self.ensure_ping_api()
        except ValidationError as error:
            raise CommandError(
                f"PING_API_IDENTIFIER {settings.PING_API_IDENTIFIER!r} is not a valid "
                f"API identifier: {' '.join(error.messages)}"
            ) from None
        self.stdout.write(f"Ping API: {api.identifier}")

        self.ensure_admin()

        admin_url = f"{settings.GATEHOUSE_ISSUER}admin/"
        self.stdout.write(self.style.SUCCESS(f"Gatehouse is ready. Admin: {admin_url}"))
        self.stdout.write(
            f"Next: try the API in {settings.GATEHOUSE_ISSUER}api/docs/ with the Test "
            "Application, or follow the walk-through in README.md."
        )

    def ensure_ping_api(self):
        identifier = settings.PING_API_IDENTIFIER
        api = API.objects.filter(identifier=identifier).first()
        if api is None:
            api = create_api(
                name=PING_API_NAME, identifier=identifier, scopes=PING_API_SCOPES
            )
            # A first secret for the Test Application, so Swagger UI and the
            # walk-through work at once; it is printed now and never again.
            secret = rotate_client_secret(api.test_application)
            self.stdout.write(
                f"Test Application: client_id {api.test_application.client_id}, "
                f"client_secret {secret} (shown only now)"
            )
            return api
        for value, description in PING_API_SCOPES:
            Scope.objects.get_or_create(
                api=api, value=value, defaults={"description": description}
            )
        return api

    def ensure_admin(self):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("Admin account: already present.")
            return
        if User.objects.filter(username="admin").exists():
            self.stderr.write(
                "A user named admin exists but is not a superuser; create one with "
                "`python manage.py createsuperuser`."
            )
            return

        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if password:
            User.objects.create_superuser("admin", "", password)
            self.stdout.write(
                "Admin account: admin, with the password in DJANGO_SUPERUSER_PASSWORD."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        self.stdout.write(
            f"Admin account: admin, password {password} (shown only now; change it "
            "in the admin)."
        )
