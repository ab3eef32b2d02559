from django.core.management.base import BaseCommand, CommandError

from apis.errors import OAuthError
from apis.keys import SigningKeyUnavailable
from apis.management.commands._arguments import check_text_arguments
from apis.models import Application, TokenRecord
from apis.tokens import issue_token, parse_scope


class Command(BaseCommand):
    help = (
        "Print an access token for an application, made by the same code as the "
        "token endpoint but without the client secret."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--api", required=True, help="The identifier (audience) of the API."
        )
        parser.add_argument("--client-id", required=True, dest="client_id")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            help="A granted scope to include; repeat for more. All granted by default.",
        )

    def handle(self, *args, api, client_id, scopes, **options):
        check_text_arguments(api=api, client_id=client_id, scope=scopes or [])
        application = Application.objects.filter(client_id=client_id).first()
        if application is None:
            raise CommandError(f"No application has the client_id {client_id!r}.")
        try:
            requested = parse_scope(" ".join(scopes)) if scopes is not None else None
            token = issue_token(
                application,
                audience=api,
                scopes=requested,
                source=TokenRecord.Source.COMMAND,
            )
        except OAuthError as error:
            raise CommandError(f"{error.error}: {error.description}") from None
        except SigningKeyUnavailable as error:
            raise CommandError(str(error)) from None
        self.stdout.write(token.access_token)
