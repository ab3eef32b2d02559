import base64
import sys

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.base import BaseCommand, CommandError

from apis.keys import KeyStateError, rotate, rotate_secret
from apis.models import API, SigningAlgorithm, SigningKey

PUBLIC_ALGORITHMS = [a for a in SigningAlgorithm.values if a != SigningAlgorithm.HS256]


class Command(BaseCommand):
    help = (
        "Rotate signing keys: the next key becomes current, the current key "
        "previous, and a new next key is published. With --api, give that API a "
        "new HS256 secret instead. Tokens already issued stay valid."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm",
            action="append",
            choices=PUBLIC_ALGORITHMS,
            help="Rotate this algorithm's keys; repeat for more. Default: every "
            "algorithm that has keys.",
        )
        parser.add_argument(
            "--api",
            metavar="IDENTIFIER",
            help="Rotate the HS256 secret of this API, and print the new secret.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Rotate even if the next key is younger than the JWKS cache "
            "lifetime, so some resource servers may not know it yet.",
        )
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation."
        )

    def handle(self, *args, algorithm, api, force, yes, **options):
        if api is not None:
            self.rotate_api_secret(api, yes)
        else:
            self.rotate_public_keys(algorithm, force, yes)
        warn_if_cache_not_shared(self)

    def rotate_api_secret(self, identifier, yes):
        api = API.objects.filter(identifier=identifier).first()
        if api is None:
            raise CommandError(f"No API has the identifier {identifier!r}.")
        if api.signing_algorithm != SigningAlgorithm.HS256:
            raise CommandError(f"The API {identifier!r} does not sign with HS256.")
        if not yes and not confirm(f"Give {api.name} a new HS256 secret?"):
            raise CommandError("Rotation cancelled.")
        key, secret = rotate_secret(api, actor="rotate_signing_keys")
        encoded = base64.urlsafe_b64encode(secret).decode()
        self.stdout.write(f"HS256 key {key.kid} now signs. Secret (shown only now):")
        self.stdout.write(encoded)

    def rotate_public_keys(self, algorithms, force, yes):
        algorithms = algorithms or sorted(
            SigningKey.objects.filter(
                api=None, state=SigningKey.State.NEXT
            ).values_list("algorithm", flat=True)
        )
        if not algorithms:
            raise CommandError("There are no keys to rotate; run bootstrap first.")
        if not yes and not confirm(f"Rotate the {', '.join(algorithms)} keys?"):
            raise CommandError("Rotation cancelled.")
        failed = []
        for name in algorithms:
            try:
                current = rotate(name, actor="rotate_signing_keys", force=force)
            except KeyStateError as error:
                # Rotate the others anyway; a cron job reports the rest.
                failed.append(name)
                self.stderr.write(f"{name}: not rotated. {error}")
                continue
            self.stdout.write(f"{name}: key {current.kid} now signs.")
        if failed:
            raise CommandError(f"Not rotated: {', '.join(failed)}.")


def confirm(question):
    """Ask `question` on the terminal; refuse without one, as in CI or cron."""
    if not sys.stdin.isatty():
        raise CommandError(f"{question} Pass --yes to confirm without a terminal.")
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


def warn_if_cache_not_shared(command):
    """Warn that running servers learn of the change late without a shared cache."""
    if isinstance(caches["default"], LocMemCache):
        command.stderr.write(
            "Warning: the cache is local to this process (no REDIS_URL), so running "
            "servers apply this change only when they reload their keys, within "
            "300 seconds. Until then they may still sign with the old key."
        )
