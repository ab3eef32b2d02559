from django.core.management.base import BaseCommand, CommandError

from apis.keys import SigningKeyUnavailable, reencrypt_all


class Command(BaseCommand):
    help = (
        "Encrypt every signing key again under GATEHOUSE_KEY_ENCRYPTION_KEY. Put "
        "the old key in GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS first, then remove "
        "it once this has run."
    )

    def handle(self, *args, **options):
        try:
            count = reencrypt_all(actor="reencrypt_signing_keys")
        except SigningKeyUnavailable as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Re-encrypted {count} keys.")
