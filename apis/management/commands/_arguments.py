from django.core.management.base import CommandError


def check_text_arguments(**arguments):
    """Reject arguments that are not valid Unicode, such as bytes of another charset."""
    for name, value in arguments.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            try:
                str(item).encode("utf-8")
            except UnicodeEncodeError:
                raise CommandError(
                    f"The {name} argument is not valid UTF-8 text."
                ) from None
