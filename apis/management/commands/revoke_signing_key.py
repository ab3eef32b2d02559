from django.core.management.base import BaseCommand, CommandError

from apis.keys import KeyStateError, revoke
from apis.management.commands.rotate_signing_keys import (
    confirm,
    warn_if_cache_not_shared,
)


class Command(BaseCommand):
    help = (
        "Revoke a previous signing key: it leaves the JWKS and stops verifying "
        "at once, and every token it signed is rejected. It can never return."
    )

    def add_arguments(self, parser):
        parser.add_argument("kid", help="The key id, as the JWKS lists it.")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation."
        )

    def handle(self, *args, kid, yes, **options):
        question = f"Revoke {kid}? Every token it signed will be rejected."
        if not yes and not confirm(question):
            raise CommandError("Revocation cancelled.")
        try:
            revoke(kid, actor="revoke_signing_key")
        except KeyStateError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{kid} is revoked.")
        warn_if_cache_not_shared(self)
