import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apis.management.commands._arguments import check_text_arguments
from apis.models import API
from apis.services import create_application


class Command(BaseCommand):
    help = (
        "Create a machine-to-machine application granted scopes of one API, and "
        "print its client_id and client_secret. The secret is shown only once."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The application's name.")
        parser.add_argument(
            "--api", required=True, help="The identifier (audience) of the API."
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scopes",
            help="A scope of the API to grant; repeat for more. None by default.",
        )
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print one JSON object with client_id and client_secret.",
        )

    def handle(self, *args, name, api, scopes, description, as_json, **options):
        check_text_arguments(name=name, api=api, scope=scopes, description=description)
        found = API.objects.filter(identifier=api).first()
        if found is None:
            raise CommandError(f"No API has the identifier {api!r}.")
        unknown = sorted(
            set(scopes) - set(found.scopes.values_list("value", flat=True))
        )
        if unknown:
            raise CommandError(
                f"The API {api!r} has no scope {', '.join(unknown)}. Add it in the "
                f"admin first."
            )

        try:
            application, secret = create_application(
                name=name, api=found, scope_values=scopes, description=description
            )
        except ValidationError as error:
            messages = "; ".join(
                f"{field}: {' '.join(errors)}"
                for field, errors in error.message_dict.items()
            )
            raise CommandError(f"Invalid application: {messages}") from None

        if as_json:
            credentials = {"client_id": application.client_id, "client_secret": secret}
            self.stdout.write(json.dumps(credentials))
            return
        self.stdout.write(f"client_id:     {application.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("Store the secret now: Gatehouse keeps only a hash of it.")
