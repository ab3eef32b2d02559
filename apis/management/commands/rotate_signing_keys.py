import sys

from django.core.management.base import BaseCommand, CommandError

from apis.keys import KeyStateError, rotate
from apis.models import SigningAlgorithm, SigningKey

PUBLIC_ALGORITHMS = [a for a in SigningAlgorithm.values if a != SigningAlgorithm.HS256]


class Command(BaseCommand):
    help = (
        "Rotate signing keys: the next key becomes current, the current key "
        "previous, and a new next key is published. Tokens already issued stay "
        "valid."
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
            "--force",
            action="store_true",
            help="Rotate even if the next key is younger than the JWKS cache "
            "lifetime, so some resource servers may not know it yet.",
        )
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation."
        )

    def handle(self, *args, algorithm, force, yes, **options):
        algorithms = algorithm or sorted(
            SigningKey.objects.filter(
                api=None, state=SigningKey.State.NEXT
            ).values_list("algorithm", flat=True)
        )
        if not algorithms:
            raise CommandError("There are no keys to rotate; run bootstrap first.")
        if not yes and not confirm(self, f"Rotate the {', '.join(algorithms)} keys?"):
            raise CommandError("Rotation cancelled.")
        for name in algorithms:
            try:
                current = rotate(name, actor="rotate_signing_keys", force=force)
            except KeyStateError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{name}: {current.kid} now signs.")


def confirm(command, question):
    """Ask `question` on the terminal; refuse without one, as in CI or cron."""
    if not sys.stdin.isatty():
        raise CommandError(f"{question} Pass --yes to confirm without a terminal.")
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}
